"""How far an agent has handled its partitions, for another agent that must not run ahead.

The send gate and lookups wait for the classify agent (`wait_for_inbound`): a send is gated, and
a lookup answered, only once every inbound message that had reached the broker when it was about
to be has been classified, its block written (agents/gate.py says which partitions that takes,
and what it means for a STOP and a send sent close together).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, cast

from faust.types import TP, EventT, RecordMetadata

from optout.streams.app import app, config
from optout.streams.exceptions import RebalanceUnderWay
from optout.streams.runtime.assignment import assignment
from optout.streams.runtime.broker_ends import broker_ends
from optout.streams.runtime.peers import peer_progress
from optout.streams.runtime.read_committed import skipped
from optout.streams.topics import INBOUND_TOPIC, REKEYED_INBOUND_TOPIC

__all__ = [
    "HandledOffsets",
    "InboundEnds",
    "REMOTE_POLL_SECONDS",
    "WAIT_WARNING_SECONDS",
    "ask_inbound_ends",
    "classified",
    "wait_for_inbound",
]

log = logging.getLogger(__name__)
WAIT_WARNING_SECONDS = 5.0
# How often another worker's progress is asked for (streams/runtime/peers.py), while waiting for
# its partitions.
REMOTE_POLL_SECONDS = 0.02


class HandledOffsets:
    """The next offset to handle, per partition, as the handling agent marks its batches."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.next_offset: dict[TP, int] = {}
        self.changed = asyncio.Event()
        # Where the records this worker re-keyed end, per partition they went to.
        self.rekeyed_ends: dict[TP, int] = {}

    def note_rekeyed(self, sent: Sequence[RecordMetadata]) -> None:
        """These records, re-keyed by the handling agent, are on the broker."""
        for metadata in sent:
            tp = TP(metadata.topic, metadata.partition)
            self.rekeyed_ends[tp] = max(self.rekeyed_ends.get(tp, 0), metadata.offset + 1)

    def mark(self, events: Sequence[EventT]) -> None:
        """These events are handled (their table changes written, their records on the
        broker)."""
        for event in events:
            tp, offset = event.message.tp, event.message.offset
            self.next_offset[tp] = max(self.next_offset.get(tp, 0), offset + 1)
        self.changed.set()

    async def wait_for(self, ends: Mapping[TP, int]) -> None:
        """Wait until every record before `ends` has been handled: by this worker for the
        partitions it reads (as it marks them), by the worker that reads the others as it says
        or as the group's commits show (`remote_progress`). Raises RebalanceUnderWay when a
        rebalance begins meanwhile: it would wait for this wait to end."""
        started = time.monotonic()
        warned_at = started
        while behind := [tp for tp, end in ends.items() if end and self.handled_up_to(tp) < end]:
            if app.rebalancing:
                raise RebalanceUnderWay(f"a rebalance began while waiting for {self.name}")
            local = assignment.assigned()
            remote = [tp for tp in behind if tp not in local]
            if remote:
                progress = await remote_progress(remote)
                behind = [tp for tp in behind if tp in local or progress[tp] < ends[tp]]
                if not behind:
                    return
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), REMOTE_POLL_SECONDS if remote else 1)
            if time.monotonic() - warned_at >= WAIT_WARNING_SECONDS:
                warned_at = time.monotonic()
                log.warning("waiting %.0fs for %s to handle %s", warned_at - started,
                            self.name, sorted(behind))  # fmt: skip

    def handled_up_to(self, tp: TP) -> int:
        """The next offset to handle on `tp`: past what this worker marked, or its group's
        commit (after handling), whichever is further; never what was only read."""
        committed = cast(Any, app.consumer)._committed_offset.get(tp) or 0
        # Past any transaction markers after them (streams/runtime/read_committed.py).
        return skipped.past(tp, max(self.next_offset.get(tp, 0), committed))

    def all_local(self, inbound: Sequence[TP]) -> int | None:
        """A token while this worker classifies every one of `inbound` and no rebalance is under
        way (Faust's rebalance count), None otherwise. The same token before and after waiting
        for `inbound` means every message re-keyed from there was re-keyed here, so
        `rekeyed_ends` holds where those records went."""
        if app.rebalancing or not assignment.assigned().issuperset(inbound):
            return None
        return cast(int, app.rebalancing_count)


async def remote_progress(tps: Sequence[TP]) -> dict[TP, int]:
    """How far partitions other workers classify are handled: as their owners say, or else as
    the group's commits show."""
    progress = await peer_progress.handled(tps)
    unanswered = [tp for tp in tps if tp not in progress]
    if unanswered:
        progress |= await broker_ends.committed(unanswered)
    return progress


# How far each inbound partition is classified: the send gate and lookups wait for it, and a
# worker's block list is current for a partition it took over only once it has classified what
# waited there (tables/blocklist.py).
classified = HandledOffsets("classify")


class InboundEnds(NamedTuple):
    """The broker's inbound end offsets, asked once the records in `read` had been read: what a
    batch of those records may wait for (`wait_for_inbound`), whenever that batch is taken."""

    read: dict[TP, int]  # per partition, the offset of the last record read before asking
    all_here: int | None  # classified.all_local when asked
    ends: asyncio.Future[dict[TP, int]]

    def cover(self, events: Sequence[EventT]) -> bool:
        """Whether every one of `events` had been read when these ends were asked for."""
        read = self.read
        return all(event.message.offset <= read.get(event.message.tp, -1) for event in events)


def inbound_partitions() -> list[TP]:
    return [TP(INBOUND_TOPIC, p) for p in range(config.partitions)]


def ask_inbound_ends(read: dict[TP, int]) -> InboundEnds:
    """Ask the broker for every inbound partition's end offset now, without waiting for it, on
    behalf of the records in `read` (already read)."""
    inbound = inbound_partitions()
    every = inbound + [TP(REKEYED_INBOUND_TOPIC, p) for p in range(config.partitions)]
    ends = asyncio.ensure_future(broker_ends.ends(every))
    ends.add_done_callback(lambda done: done.cancelled() or done.exception())  # maybe unused
    return InboundEnds(read, classified.all_local(inbound), ends)


async def wait_for_inbound(partitions: set[int], asked: InboundEnds | None = None) -> None:
    """Wait until classify has handled every inbound message on the broker now (or when `asked`
    was asked, after the records waiting were read) that may be from an end user of
    `partitions`: all of `inbound-messages`, then those partitions of `inbound-by-user` as they
    are once that is done (re-keyed messages included)."""
    inbound = inbound_partitions()
    rekeyed = [TP(REKEYED_INBOUND_TOPIC, p) for p in sorted(partitions)]
    if asked is not None:
        try:
            all_here, ends = asked.all_here, await asked.ends
        except Exception as exc:  # noqa: BLE001 - that request failed; this one may not
            log.info("inbound ends asked ahead failed (%s); asking again", exc)
            asked = None
    if asked is None:
        all_here = classified.all_local(inbound)
        ends = await broker_ends.ends(inbound + rekeyed)
    await classified.wait_for({tp: ends[tp] for tp in inbound})
    if all_here is not None and all_here == classified.all_local(inbound):
        # Classified here all along: what was re-keyed from them is known here; no second
        # request to the broker (one worker classifying every partition; with more, there is).
        ends = {tp: max(ends[tp], classified.rekeyed_ends.get(tp, 0)) for tp in rekeyed}
    else:
        ends = await broker_ends.ends(rekeyed)
    await classified.wait_for({tp: ends[tp] for tp in rekeyed})
