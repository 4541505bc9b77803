"""A partition must never stall silently.

An independent probe saw a worker that took over a killed worker's partitions stop reading one
of them for 90 s while records waited (`optout_consumer_lag` 296 and 347, `/healthz` 200): the
last line for it was InOrder reading it again from a missing offset (streams/runtime/batches.py).
STOPs sent meanwhile were never applied. Whatever the cause (a seek lost to records already in
flight, a fetch that never came back), the symptom is plain: records wait on a partition whose
next offset to process does not move. For the topics that carry consent (inbound messages,
re-keyed ones, sends, hand-made commands) such a partition is said (a log line, the metric
`optout_partition_stalls_total`, readiness 503 with the partition while it lasts) and read again
from its next offset to process. Topics whose records wait on purpose (held sends, retry tiers)
are not watched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from faust.types import TP

from optout.streams.app import app
from optout.streams.metrics import PARTITION_STALLS
from optout.streams.runtime.assignment import assignment
from optout.streams.runtime.batches import next_offset_to_process
from optout.streams.runtime.read_committed import skipped
from optout.streams.topics import (
    BLOCKLIST_COMMANDS_TOPIC,
    INBOUND_TOPIC,
    OUTBOUND_TOPIC,
    REKEYED_INBOUND_TOPIC,
)

__all__ = ["CHECK_EVERY_SECONDS", "STALL_AFTER_SECONDS", "StallWatch", "WATCHED_TOPICS", "stalls"]

log = logging.getLogger(__name__)

WATCHED_TOPICS = frozenset(
    {INBOUND_TOPIC, REKEYED_INBOUND_TOPIC, OUTBOUND_TOPIC, BLOCKLIST_COMMANDS_TOPIC}
)
# A partition with records waiting whose next offset has not moved for this long is stalled.
STALL_AFTER_SECONDS = 20.0
CHECK_EVERY_SECONDS = 5.0


class StallWatch:
    """Which watched partitions have records waiting and make no progress; each found is read
    again from its next offset to process."""

    def __init__(
        self,
        assigned: Callable[[], Iterable[TP]],
        end_of: Callable[[TP], int | None],
        next_of: Callable[[TP], int | None],
        seek: Callable[[TP, int], Awaitable[None]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.assigned, self.end_of, self.next_of, self.seek = assigned, end_of, next_of, seek
        self.clock = clock
        self.progress: dict[TP, tuple[int, float]] = {}  # next offset, since when
        self.stalled: set[TP] = set()

    def forget(self, *_: object, **__: object) -> None:
        """Partitions were revoked or assigned: watch them afresh."""
        self.progress.clear()
        self.stalled.clear()

    async def check(self) -> None:
        now = self.clock()
        for tp in [tp for tp in self.assigned() if tp.topic in WATCHED_TOPICS]:
            end, at = self.end_of(tp), self.next_of(tp)
            if at is not None:
                at = skipped.past(tp, at)  # transaction markers are nothing waiting
            if end is None or at is None or at >= end:  # nothing waiting
                self.progress.pop(tp, None)
                self.stalled.discard(tp)
                continue
            last_at, since = self.progress.get(tp, (None, now))
            if last_at != at:
                self.progress[tp] = (at, now)
                self.stalled.discard(tp)
                continue
            if now - since >= STALL_AFTER_SECONDS:
                log.error(
                    "%s stalled: %d records waiting and offset %d not processed for %.0fs; "
                    "reading it again from %d",
                    tp,
                    end - at,
                    at,
                    now - since,
                    at,
                )
                PARTITION_STALLS.labels(tp.topic, str(tp.partition)).inc()
                self.stalled.add(tp)
                self.progress[tp] = (at, now)  # give the new read its own time
                try:
                    await self.seek(tp, at)
                except Exception as exc:  # e.g. revoked meanwhile: the rebalance starts it over
                    log.warning("could not read %s again from %d: %s", tp, at, exc)

    def problem(self) -> str | None:
        """Why the worker is not ready because of stalled partitions, or None."""
        if not self.stalled:
            return None
        names = ", ".join(f"{tp.topic}:{tp.partition}" for tp in sorted(self.stalled))
        return f"partitions stalled, being read again: {names}"


stalls = StallWatch(
    assigned=assignment.assigned,
    end_of=assignment.highwater,
    next_of=next_offset_to_process,
    seek=lambda tp, offset: app.consumer.seek(tp, offset),
)
app.on_partitions_revoked.connect(stalls.forget)
app.on_partitions_assigned.connect(stalls.forget)


@app.timer(CHECK_EVERY_SECONDS)
async def watch_for_stalls() -> None:
    if not app.rebalancing:
        await stalls.check()
