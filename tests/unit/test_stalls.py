"""A partition with records waiting whose next offset does not move is said and read again
(streams/runtime/stalls.py), with a clock, offsets and a seek of the test's own."""

from __future__ import annotations

import asyncio

from faust.types import TP

from optout.streams.runtime.stalls import STALL_AFTER_SECONDS, StallWatch

INBOUND, HELD = TP("inbound-messages", 1), TP("outbound-held", 1)


class Partitions:
    def __init__(self) -> None:
        self.now = 0.0
        self.ends = {INBOUND: 10, HELD: 10}
        self.next = {INBOUND: 5, HELD: 5}
        self.sought: list[tuple[TP, int]] = []

    async def seek(self, tp: TP, offset: int) -> None:
        self.sought.append((tp, offset))

    def watch(self) -> StallWatch:
        return StallWatch(
            assigned=lambda: [INBOUND, HELD],
            end_of=self.ends.get,
            next_of=self.next.get,
            seek=self.seek,
            clock=lambda: self.now,
        )


def test_a_partition_with_records_waiting_and_no_progress_is_read_again_and_not_ready() -> None:
    partitions = Partitions()
    watch = partitions.watch()
    for moment in (0.0, STALL_AFTER_SECONDS / 2, STALL_AFTER_SECONDS):
        partitions.now = moment
        asyncio.run(watch.check())
    assert partitions.sought == [(INBOUND, 5)]  # held sends wait on purpose: not watched
    assert watch.problem() == "partitions stalled, being read again: inbound-messages:1"

    partitions.next[INBOUND] = 7  # records flow again
    asyncio.run(watch.check())
    assert watch.problem() is None


def test_a_partition_that_progresses_or_has_nothing_waiting_is_not_stalled() -> None:
    partitions = Partitions()
    watch = partitions.watch()
    for step in range(5):
        partitions.now = step * STALL_AFTER_SECONDS
        partitions.next[INBOUND] = 5 + step  # slow, but moving
        asyncio.run(watch.check())
    partitions.next[INBOUND] = partitions.ends[INBOUND]  # all done, then a long quiet
    for step in range(5, 10):
        partitions.now = step * STALL_AFTER_SECONDS
        asyncio.run(watch.check())
    assert partitions.sought == [] and watch.problem() is None
