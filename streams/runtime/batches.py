"""Stream processing that loses no message when handling fails or a worker dies.

Faust acknowledges an event whose processing raised, or was cancelled by a rebalance, so its
offset is committed and the message is never seen again (faust-streaming/faust#315, #527;
`stream.take_events` does the same to a whole batch). Here a batch (`batches`, or `each` for one
event at a time) is acknowledged only after it was handled in full: a broker error is retried
until the broker answers, a record the code cannot handle goes to the dead letters with the
error, and a cancelled batch stays unacknowledged, so the partition is read again from the last
commit.

Events are also taken in offset order only: after a restart the crash test saw Faust deliver a
partition's records starting past the committed offset (likely fetched under the first of two
group joins, to which the embedded broker gave the same generation id, the one thing Faust's
check for stale records looks at), and a record handled before the ones ahead of it breaks
per-pair order: a START was applied before the STOP that preceded it. An event past the next
offset of its partition is dropped unacknowledged and the partition is read again from that
offset (`InOrder`).

Table writes in a batch need the event they belong to: a Faust table writes each change to the
changelog partition of the event being processed, which only one-at-a-time iteration sets
("Cannot modify table key from outside of stream iteration", faust-streaming/faust#497).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from aiokafka.errors import KafkaError
from faust.streams import Stream, _current_event
from faust.types import TP, EventT, StreamT

from optout.streams.app import app, config
from optout.streams.metrics import BATCH_FAILURES
from optout.streams.runtime.dead_letters import send_to_dead_letters
from optout.streams.runtime.read_committed import skipped

__all__ = [
    "ATTEMPTS_BEFORE_SPLITTING",
    "DeadLetter",
    "Handler",
    "InOrder",
    "MAX_BACKOFF_SECONDS",
    "MISSING_OFFSET_PATIENCE_S",
    "Offset",
    "SEEK_AGAIN_AFTER_S",
    "batches",
    "committed_offset",
    "each",
    "handle_each",
    "handle_in_full",
    "in_order",
    "next_offset_to_process",
    "table_writes_for",
    "waiting",
]

log = logging.getLogger(__name__)

Handler = Callable[[Sequence[EventT]], Awaitable[None]]
DeadLetter = Callable[[EventT, str], Awaitable[None]]
# A batch that fails for a reason other than the broker is tried this often before its records
# are handled one by one (and the ones that still fail dead-lettered).
ATTEMPTS_BEFORE_SPLITTING = 3
MAX_BACKOFF_SECONDS = 30.0
# How long a partition may keep delivering records past a missing offset before that offset is
# taken as really absent (as compaction would make it) and skipped, with an error in the log.
MISSING_OFFSET_PATIENCE_S = 30.0
SEEK_AGAIN_AFTER_S = 1.0


class Offset(enum.Enum):
    NEXT = "next"  # the record to handle now
    SEEN = "seen"  # handled already since the partition was assigned: acknowledge it again
    AHEAD = "ahead"  # records before it are missing: drop it, read them first


class InOrder:
    """The next offset of every assigned partition, starting from where the consumer's seek put
    it (`committed_offset`); `seek` makes the consumer read a partition again from an offset."""

    def __init__(
        self,
        committed_offset: Callable[[TP], int | None],
        seek: Callable[[TP, int], Awaitable[None]],
    ) -> None:
        self.committed_offset = committed_offset
        self.seek = seek
        self.next_offset: dict[TP, int] = {}
        self.missing_since: dict[tuple[TP, int], float] = {}
        self.sought_at: dict[tuple[TP, int], float] = {}

    def forget(self, *_: object, **__: object) -> None:
        """Partitions were revoked or assigned: start again from where the seek puts them."""
        self.next_offset.clear()
        self.missing_since.clear()
        self.sought_at.clear()

    async def check(self, event: EventT) -> Offset:
        tp, offset = event.message.tp, event.message.offset
        expected = self.next_offset.get(tp)
        if expected is None:
            expected = self.committed_offset(tp)
        if expected is not None and offset < expected:
            return Offset.SEEN
        # Offsets that hold no record (transaction markers) are no gap.
        if (
            expected is not None
            and offset > skipped.past(tp, expected)
            and await self._wait_for(tp, expected)
        ):
            return Offset.AHEAD
        if self.missing_since:
            self.missing_since.pop((tp, offset), None)
            self.sought_at.pop((tp, offset), None)
        self.next_offset[tp] = offset + 1
        return Offset.NEXT

    async def _wait_for(self, tp: TP, expected: int) -> bool:
        """Read `tp` again from `expected` (at most once a second), unless it has been missing
        for longer than the patience."""
        now = time.monotonic()
        since = self.missing_since.setdefault((tp, expected), now)
        if now - since > MISSING_OFFSET_PATIENCE_S:
            log.error(
                "%s offset %d missing for %.0fs; going on without it", tp, expected, now - since
            )
            return False
        if now - self.sought_at.get((tp, expected), 0.0) >= SEEK_AGAIN_AFTER_S:
            log.warning("%s delivered records past offset %d; reading from it again", tp, expected)
            self.sought_at[(tp, expected)] = now
            try:
                await self.seek(tp, expected)
            except Exception as exc:  # e.g. revoked meanwhile: the rebalance starts it over
                log.warning("could not read %s again from %d: %s", tp, expected, exc)
        return True


def committed_offset(tp: TP) -> int | None:
    """The next offset Faust will commit on `tp` (where a seek put it), if any."""
    return cast(Any, app.consumer)._committed_offset.get(tp)


def next_offset_to_process(tp: TP) -> int | None:
    """The next offset this worker would process on `tp`: committed, or else read."""
    consumer = cast(Any, app.consumer)
    return consumer._committed_offset.get(tp) or consumer._read_offset.get(tp)


in_order = InOrder(
    committed_offset=committed_offset,
    seek=lambda tp, offset: app.consumer.seek(tp, offset),
)
app.on_partitions_revoked.connect(in_order.forget)
app.on_partitions_assigned.connect(in_order.forget)


async def batches(stream: StreamT) -> AsyncIterator[Sequence[EventT]]:
    """The events that have arrived, up to `config.batch_size`, in offset order; each batch is
    acknowledged once the loop body that handled it has finished.

    Events are taken straight from the queue Faust's conductor fills for the agent's topic,
    not through the stream's per-event iteration, which alone holds a worker near 5,000
    events/s (README, "Performance"). Backpressure and a rebalance's flushing of the queue still
    apply."""
    queue = cast(Any, stream.channel).queue
    while True:
        try:
            taken = [await queue.get()]
        except StopAsyncIteration:  # the channel is stopping (Faust throws this into its queue)
            return
        while len(taken) < config.batch_size and not queue.empty():
            taken.append(queue.get_nowait())
        events = [event for event in taken if _current(event) and await _next_or_ack(event)]
        if events:
            yield events
        for event in events:
            event.ack()


def waiting(stream: StreamT) -> int:
    """How many events have arrived for the agent and wait for `batches` to take them."""
    return cast(Any, stream.channel).queue.qsize()


def _current(event: EventT) -> bool:
    """Whether `event` was fetched in the current group generation and the app is not
    rebalancing (the check Faust's stream iteration makes). A stale event is dropped without an
    acknowledgement, to be read again; a current one is tracked, so a rebalance waits for it."""
    message = event.message
    if not app.flow_control.is_active() or message.generation_id != app.consumer_generation_id:
        return False
    if not message.tracked:
        message.tracked = True
        app.consumer.track_message(message)
    return True


async def each(stream: StreamT) -> AsyncIterator[EventT]:
    """Each event, in offset order, acknowledged once the loop body that handled it finished."""
    unacked = cast(Stream, stream).noack()
    async for event in unacked.events():
        if await _next_or_ack(event):
            yield event
            await unacked.ack(event)


async def handle_each(
    stream: StreamT,
    handle: Callable[[EventT], Awaitable[None]],
    what: str,
    dead_letter: DeadLetter = send_to_dead_letters,
) -> None:
    """Each event of `stream`, in offset order, handled in full (see `handle_in_full`) and then
    acknowledged."""

    async def handle_one(events: Sequence[EventT]) -> None:
        await handle(events[0])

    async for event in each(stream):
        await handle_in_full(handle_one, [event], what, dead_letter)


async def _next_or_ack(event: EventT) -> bool:
    """Whether `event` is the next of its partition; a record seen already is acknowledged."""
    verdict = await in_order.check(event)
    if verdict is Offset.SEEN:
        event.ack()
    return verdict is Offset.NEXT


async def handle_in_full(
    handle: Handler,
    events: Sequence[EventT],
    what: str,
    dead_letter: DeadLetter = send_to_dead_letters,
) -> None:
    """Run `handle` on the batch until it succeeds; a batch that keeps failing is split, and a
    single record that keeps failing is dead-lettered with the error (by `dead_letter`: with
    exactly-once, in a transaction with the record's offset)."""
    try:
        await _retried(handle, events, what)
    except Exception as exc:
        if len(events) == 1:
            await dead_letter(events[0], f"{what} failed: {type(exc).__name__}: {exc}")
            return
        log.warning("%s of %d records keeps failing; handling them one by one", what, len(events))
        for event in events:
            await handle_in_full(handle, [event], what, dead_letter)


async def _retried(handle: Handler, events: Sequence[EventT], what: str) -> None:
    attempt = 0
    while True:
        attempt += 1
        try:
            await handle(events)
            return
        except KafkaError as exc:  # the broker, not the records: wait for it
            failure = exc
        except Exception as exc:
            if attempt >= ATTEMPTS_BEFORE_SPLITTING:
                raise
            failure = exc
        BATCH_FAILURES.labels(what).inc()
        backoff = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** (attempt - 1))
        log.error(
            "%s of %d records failed (attempt %d), trying again in %.1fs: %s: %s",
            what,
            len(events),
            attempt,
            backoff,
            type(failure).__name__,
            failure,
        )
        await asyncio.sleep(backoff)


@contextmanager
def table_writes_for(event: EventT) -> Iterator[None]:
    """Table writes inside go to `event`'s changelog partition, as in one-at-a-time iteration."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
