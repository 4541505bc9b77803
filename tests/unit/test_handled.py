"""How far classify has handled its partitions, as the gate and consent answers read it."""

from __future__ import annotations

from typing import Any, cast

import pytest
from faust.types import TP, RecordMetadata

from optout.streams.app import app
from optout.streams.runtime import handled
from optout.streams.runtime.handled import HandledOffsets

INBOUND = [TP("inbound-messages", p) for p in range(4)]


class Event:
    def __init__(self, tp: TP, offset: int) -> None:
        self.message = type("Message", (), {"tp": tp, "offset": offset})()


def test_handled_is_what_was_marked_or_committed_never_what_was_only_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    committed: dict[TP, int] = {}
    read: dict[TP, int] = {}
    monkeypatch.setattr(cast(Any, app.consumer), "_committed_offset", committed)
    monkeypatch.setattr(cast(Any, app.consumer), "_read_offset", read)
    offsets = HandledOffsets("classify")
    tp = INBOUND[0]
    read[tp] = 40  # in the agent's queue, not classified
    assert offsets.handled_up_to(tp) == 0
    committed[tp] = 10
    assert offsets.handled_up_to(tp) == 10
    offsets.mark([Event(tp, 14)])  # type: ignore[list-item]
    assert offsets.handled_up_to(tp) == 15
    committed[tp] = 30  # another worker got further before this one took over
    assert offsets.handled_up_to(tp) == 30


def test_own_rekeyed_ends_count_only_while_every_inbound_partition_is_here_and_settled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    offsets = HandledOffsets("classify")
    offsets.note_rekeyed([RecordMetadata("inbound-by-user", 2, TP("inbound-by-user", 2), 7, 0, 0)])
    assert offsets.rekeyed_ends == {TP("inbound-by-user", 2): 8}
    here: frozenset[TP] = frozenset(INBOUND)
    monkeypatch.setattr(handled.assignment, "assigned", lambda: here)
    monkeypatch.setattr(app, "rebalancing", False)
    monkeypatch.setattr(app, "rebalancing_count", 3)
    before = offsets.all_local(INBOUND)
    assert before == 3
    monkeypatch.setattr(app, "rebalancing_count", 4)  # a rebalance began and ended meanwhile
    assert offsets.all_local(INBOUND) != before
    monkeypatch.setattr(app, "rebalancing", True)
    assert offsets.all_local(INBOUND) is None
    monkeypatch.setattr(app, "rebalancing", False)
    here = frozenset(INBOUND[1:])  # one partition classified elsewhere
    assert offsets.all_local(INBOUND) is None
