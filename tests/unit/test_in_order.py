"""Events reach an agent in offset order: records delivered past a missing offset are dropped and
the partition is read again from it (streams/runtime/batches.py, InOrder)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from faust.types import TP

from optout.streams.runtime import batches
from optout.streams.runtime.batches import InOrder, Offset
from optout.streams.runtime.read_committed import SkippedOffsets

TP1 = TP("inbound-messages", 1)


def event(offset: int) -> SimpleNamespace:
    return SimpleNamespace(message=SimpleNamespace(tp=TP1, offset=offset))


class Consumer:
    def __init__(self, committed: int | None) -> None:
        self.committed = committed
        self.seeks: list[tuple[TP, int]] = []

    async def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append((tp, offset))


def checked(in_order: InOrder, *offsets: int) -> list[Offset]:
    async def check_all() -> list[Offset]:
        return [await in_order.check(event(offset)) for offset in offsets]

    return asyncio.run(check_all())


def in_order_from(consumer: Consumer) -> InOrder:
    return InOrder(lambda tp: consumer.committed, consumer.seek)


def test_records_from_the_committed_offset_on_pass_and_older_ones_are_seen() -> None:
    consumer = Consumer(committed=127)
    in_order = in_order_from(consumer)
    assert checked(in_order, 127, 128, 129, 128) == [Offset.NEXT] * 3 + [Offset.SEEN]
    assert consumer.seeks == []


def test_records_past_a_missing_offset_are_dropped_and_it_is_read_again_once() -> None:
    consumer = Consumer(committed=127)
    in_order = in_order_from(consumer)
    assert checked(in_order, 247, 248, 249) == [Offset.AHEAD] * 3
    assert consumer.seeks == [(TP1, 127)]  # at most once a second
    assert checked(in_order, 127, 128) == [Offset.NEXT, Offset.NEXT]


def test_a_new_assignment_starts_again_from_the_committed_offset() -> None:
    consumer = Consumer(committed=None)
    in_order = in_order_from(consumer)
    assert checked(in_order, 5, 6) == [Offset.NEXT, Offset.NEXT]
    consumer.committed = 3
    in_order.forget()
    assert checked(in_order, 3) == [Offset.NEXT]


def test_an_offset_missing_longer_than_the_patience_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batches, "MISSING_OFFSET_PATIENCE_S", -1.0)
    in_order = in_order_from(Consumer(committed=10))
    assert checked(in_order, 12, 13) == [Offset.NEXT, Offset.NEXT]


def test_offsets_that_hold_no_record_are_no_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    """A transaction's marker (or an aborted batch) the fetcher walked past: the next record
    is the next one, nothing is read again."""
    skipped = SkippedOffsets()
    monkeypatch.setattr(batches, "skipped", skipped)
    consumer = Consumer(committed=10)
    in_order = in_order_from(consumer)
    skipped.note(TP1, 12, 13)  # the marker after 10 and 11
    skipped.note(TP1, 15, 20)  # an aborted transaction's four records and its marker
    assert checked(in_order, 10, 11, 13, 14, 20) == [Offset.NEXT] * 5
    assert checked(in_order, 22) == [Offset.AHEAD]  # 21 is no hole the fetcher saw
    assert consumer.seeks == [(TP1, 21)]
