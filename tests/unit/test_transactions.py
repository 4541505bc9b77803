"""Exactly-once's local parts (streams/runtime/transactions.py, read_committed.py): a transaction
that aborts leaves the tables as they were, a worker that did not stop cleanly starts from its
changelogs, and holes in a partition's offsets are stepped over. The transactions themselves are
tested on Apache Kafka (tests/e2e/test_transactions.py, tests/e2e/test_crash.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from faust.types import TP
from rocksdict import Rdict

from optout.streams.cli.run import _guarantee_problem
from optout.streams.config import Config
from optout.streams.runtime import read_committed
from optout.streams.runtime.read_committed import SkippedOffsets
from optout.streams.runtime.transactions import (
    RUNNING_MARK,
    Transaction,
    state_was_left,
    stopped_cleanly,
)

TP0 = TP("blocklist-changelog", 0)


def table_on(store: Rdict) -> SimpleNamespace:
    """What a transaction touches of a Faust table: its partition's RocksDB store."""
    return SimpleNamespace(data=SimpleNamespace(_db_for_partition=lambda partition: store))


def test_an_aborted_transaction_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    store = Rdict(str(tmp_path / "store"))
    table = table_on(store)
    store[b"kept"] = b"before"
    store[b"gone"] = b"old"
    transaction = Transaction(0, producer=None)  # type: ignore[arg-type]
    # As a Faust table does it: the changelog write is announced, then the store written.
    for key, value in [(b"kept", b"first"), (b"kept", b"second"), (b"new", b"x"), (b"gone", None)]:
        transaction.write(table, 0, key, value)  # type: ignore[arg-type]
        if value is None:
            del store[key]
        else:
            store[key] = value
    assert len(transaction.changelog) == 4
    transaction.undo()
    assert store.get(b"kept") == b"before"
    assert store.get(b"new") is None
    assert store.get(b"gone") == b"old"
    assert transaction.changelog == [] and transaction.undo_log == []
    store.close()


def test_a_worker_that_did_not_stop_cleanly_starts_from_its_changelogs(tmp_path: Path) -> None:
    tabledir = tmp_path / "v1" / "tables"
    tabledir.mkdir(parents=True)
    (tabledir / "blocklist-0.db").write_text("state")
    assert not state_was_left(tabledir)  # a first start
    assert (tabledir / "blocklist-0.db").exists() and (tabledir.parent / RUNNING_MARK).exists()
    stopped_cleanly(tabledir)
    assert not state_was_left(tabledir)  # after a clean stop: the stores are kept
    assert (tabledir / "blocklist-0.db").exists()
    assert state_was_left(tabledir)  # killed: the stores may hold aborted writes
    assert not tabledir.exists()
    assert (tabledir.parent / RUNNING_MARK).exists()


def test_holes_are_stepped_over_up_to_the_next_record() -> None:
    skipped = SkippedOffsets()
    assert skipped.past(TP0, 7) == 7
    skipped.note(TP0, 7, 8)
    skipped.note(TP0, 8, 12)
    skipped.note(TP0, 13, 14)
    assert skipped.past(TP0, 7) == 12  # 12 holds a record: no hole begins there
    assert skipped.past(TP0, 12) == 12
    assert skipped.past(TP0, 13) == 14
    assert skipped.past(TP0, 6) == 6
    assert skipped.past(TP("blocklist-changelog", 1), 7) == 7


def test_an_offset_inside_a_hole_is_past_it() -> None:
    """Faust's recovery fetches from the offset it stored (a marker, say), so the hole the
    fetcher notes begins before the offset a check asks about."""
    skipped = SkippedOffsets()
    skipped.note(TP0, 117, 141)  # a commit marker, an aborted transaction and its marker
    assert skipped.past(TP0, 118) == 141
    assert skipped.past(TP0, 140) == 141
    assert skipped.past(TP0, 141) == 141
    skipped.note(TP0, 118, 141)  # the same hole, fetched again from further on
    assert skipped.past(TP0, 117) == 141


def test_only_the_newest_holes_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read_committed, "MAX_HOLES", 3)
    skipped = SkippedOffsets()
    for start in range(0, 10, 2):
        skipped.note(TP0, start, start + 1)
    assert sorted(skipped.holes[TP0]) == skipped.starts[TP0] == [4, 6, 8]
    assert skipped.past(TP0, 0) == 0 and skipped.past(TP0, 8) == 9


@pytest.mark.parametrize(
    ("environment", "problem"),
    [
        ({"OPTOUT_PROCESSING_GUARANTEE": "exactly_once"}, None),
        ({}, None),
        ({"OPTOUT_PROCESSING_GUARANTEE": "exactly-once"}, "choose at_least_once or exactly_once"),
        (
            {"OPTOUT_PROCESSING_GUARANTEE": "exactly_once", "OPTOUT_EMBEDDED_BROKER": "true"},
            "the embedded broker lacks",
        ),
    ],
)
def test_the_guarantee_is_checked_before_a_worker_starts(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], problem: str | None
) -> None:
    monkeypatch.delenv("OPTOUT_EMBEDDED_BROKER", raising=False)
    monkeypatch.delenv("OPTOUT_PROCESSING_GUARANTEE", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    found = _guarantee_problem(Config())
    assert (found is None) if problem is None else (problem in (found or ""))
