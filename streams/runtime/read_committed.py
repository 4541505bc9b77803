"""A worker that reads committed records only (exactly-once, streams/runtime/transactions.py).

Every transaction leaves a commit marker after its records: an offset that holds no record a
consumer ever receives (nor do the records of an aborted transaction, nor those compaction
removed). So a partition's offsets have holes, and "the next offset is the one after the last
handled" no longer holds: the offset-order check (`InOrder`, streams/runtime/batches.py) would
take each hole for records lost in flight, and "handled up to the end offset" (the gate's wait
for classify, a recovering table's caught-up check) would wait forever on a partition that ends
with a marker.

`SkippedOffsets` notes the holes as aiokafka's fetcher walks past them (it knows: a control
batch, an aborted batch, or a gap inside a batch), so that each of those checks can step over
them. The embedded broker has no transactions, and its fetches skip ranges of real records
(streams/embedded/tansu_quirks.py); there the holes are not noted and nothing steps over.
"""

from __future__ import annotations

import bisect
import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

from aiokafka.consumer.fetcher import PartitionRecords
from faust.tables.recovery import Recovery
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types import TP

__all__ = ["SkippedOffsets", "install_read_committed", "install_skipped_offsets", "skipped"]

log = logging.getLogger(__name__)
# Holes kept per partition; the oldest go first (the checks step over recent ones).
MAX_HOLES = 1_000


class SkippedOffsets:
    """Per partition, ranges of offsets that hold no record a consumer reading committed gets,
    as the fetcher found them: start -> end (exclusive), and the starts in order. Written in
    the consumer's thread, read in the agents' (each list and dict operation is atomic)."""

    def __init__(self) -> None:
        self.holes: dict[TP, dict[int, int]] = {}
        self.starts: dict[TP, list[int]] = {}

    def note(self, tp: TP, start: int, end: int) -> None:
        holes = self.holes.setdefault(tp, {})
        starts = self.starts.setdefault(tp, [])
        if holes.get(start, start) >= end:
            return
        if start not in holes:
            bisect.insort(starts, start)
        holes[start] = end
        while len(starts) > MAX_HOLES:
            holes.pop(starts.pop(0), None)

    def past(self, tp: TP, offset: int) -> int:
        """`offset`, or if it lies in a hole (a fetch may begin inside one: Faust's recovery
        reads from the last offset it stored, not the one after), the first offset after the
        holes from there on."""
        holes, starts = self.holes.get(tp), self.starts.get(tp)
        while holes and starts:
            at = bisect.bisect_right(starts, offset) - 1
            end = holes.get(starts[at], 0) if at >= 0 else 0
            if end <= offset:
                return offset
            offset = end
        return offset


skipped = SkippedOffsets()


def install_read_committed() -> None:
    """Faust's consumer reads committed records only, whatever this worker's guarantee: a
    worker delivering replies reads what a classify worker wrote in transactions."""
    if getattr(AIOKafkaConsumerThread, "_optout_read_committed", False):
        return
    create = AIOKafkaConsumerThread._create_worker_consumer

    def _create_worker_consumer(self: AIOKafkaConsumerThread, transport: Any) -> Any:
        consumer = create(self, transport)
        consumer._isolation_level = "read_committed"  # read by its fetcher when it starts
        return consumer

    AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]
    AIOKafkaConsumerThread._optout_read_committed = True  # type: ignore[attr-defined]


def install_skipped_offsets() -> None:
    """Note the holes the fetcher walks past, and let Faust's table recovery end past them."""
    if getattr(PartitionRecords, "_optout_skipped_offsets", False):
        return
    unpack = PartitionRecords._unpack_records

    def _unpack_records(self: PartitionRecords) -> Iterator[Any]:
        tp = TP(self._tp.topic, self._tp.partition)
        expected = self.next_fetch_offset
        for record in unpack(self):
            if record.offset > expected:
                skipped.note(tp, expected, record.offset)
            expected = record.offset + 1
            yield record
        if self.next_fetch_offset > expected:
            skipped.note(tp, expected, self.next_fetch_offset)

    def active_remaining(self: Recovery) -> Counter[TP]:
        """What Faust's recovery still has to read per partition, holes not counted."""
        offsets = self.active_offsets
        return Counter(
            {
                tp: max(0, highwater + 1 - skipped.past(tp, offsets[tp] + 1))
                for tp, highwater in self.active_highwaters.items()
                if highwater is not None and offsets[tp] is not None
            }
        )

    PartitionRecords._unpack_records = _unpack_records  # type: ignore[method-assign]
    Recovery.active_remaining = active_remaining  # type: ignore[method-assign]
    PartitionRecords._optout_skipped_offsets = True  # type: ignore[attr-defined]
