"""Pruning looks at a bounded number of ids per run and resumes where it stopped."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from optout.streams.runtime.pruning import stale_keys


class SortedDatabase:
    """A RocksDB partition's items in key order, as rocksdict iterates them."""

    def __init__(self, items: dict[bytes, bytes]) -> None:
        self.data = dict(sorted(items.items()))

    def items(self, from_key: bytes | None = None) -> Any:
        return ((k, v) for k, v in self.data.items() if from_key is None or k >= from_key)


def table_of(items: dict[bytes, bytes]) -> Any:
    database = SortedDatabase(items)
    return SimpleNamespace(data=SimpleNamespace(_db_for_partition=lambda partition: database))


def test_a_run_looks_at_its_budget_and_the_next_one_goes_on_from_there() -> None:
    # ids m00..m09; the even ones are old (time 1), the odd ones new (time 9)
    table = table_of({f"m{n:02d}".encode(): b"1" if n % 2 == 0 else b"9" for n in range(10)})
    first, after = stale_keys(table, 0, cutoff_ms=5, after=None, budget=4)
    assert first == [b"m00", b"m02"] and after == b"m03"
    second, after = stale_keys(table, 0, cutoff_ms=5, after=after, budget=4)
    assert second == [b"m04", b"m06"] and after == b"m07"
    third, after = stale_keys(table, 0, cutoff_ms=5, after=after, budget=4)
    assert third == [b"m08"] and after is None  # the end: the next run starts over


def test_resuming_after_a_deleted_id_starts_at_the_next_one() -> None:
    table = table_of({b"a": b"1", b"c": b"1"})
    assert stale_keys(table, 0, cutoff_ms=5, after=b"b", budget=10) == ([b"c"], None)


def test_an_id_kept_with_a_record_after_its_time_is_pruned_by_that_time() -> None:
    """The gate's rejections hold "<epoch ms> <result>": the time before the space decides."""
    table = table_of({b"old": b"1 \x00\x02 result", b"new": b"9 \x00 9 result"})
    assert stale_keys(table, 0, cutoff_ms=5, after=None, budget=10) == ([b"old"], None)
