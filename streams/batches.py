"""Stream processing that loses no message when handling fails or a worker dies.

Faust acknowledges an event whose processing raised, or was cancelled by a rebalance, so its
offset is committed and the message is never seen again (faust-streaming/faust#315, #527;
`stream.take_events` does the same to a whole batch). Here a batch (`batches`, or `each` for one
event at a time) is acknowledged only after it was handled in full: a broker error is retried
until the broker answers, a record the code cannot handle goes to the dead letters with the
error, and a cancelled batch stays unacknowledged, so the partition is read again from the last
commit.

Table writes in a batch need the event they belong to: a Faust table writes each change to the
changelog partition of the event being processed, which only one-at-a-time iteration sets
("Cannot modify table key from outside of stream iteration", faust-streaming/faust#497).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager

from aiokafka.errors import KafkaError
from faust.streams import _current_event
from faust.types import EventT, StreamT

from optout.streams.app import config
from optout.streams.dead_letter import send_to_dead_letters
from optout.streams.metrics import BATCH_FAILURES

log = logging.getLogger(__name__)

Handler = Callable[[Sequence[EventT]], Awaitable[None]]
# A batch that fails for a reason other than the broker is tried this often before its records
# are handled one by one (and the ones that still fail dead-lettered).
ATTEMPTS_BEFORE_SPLITTING = 3
MAX_BACKOFF_SECONDS = 30.0


async def batches(stream: StreamT) -> AsyncIterator[Sequence[EventT]]:
    """Up to `config.batch_size` events, or what arrived within `config.batch_wait`; each batch
    is acknowledged once the loop body that handled it has finished."""
    async for events in stream.noack_take(config.batch_size, within=config.batch_wait):
        yield events
        for event in events:
            await stream.ack(event)


async def each(stream: StreamT) -> AsyncIterator[EventT]:
    """Each event, acknowledged once the loop body that handled it has finished."""
    unacked = stream.noack()
    async for event in unacked.events():
        yield event
        await unacked.ack(event)


async def handle_in_full(handle: Handler, events: Sequence[EventT], what: str) -> None:
    """Run `handle` on the batch until it succeeds; a batch that keeps failing is split, and a
    single record that keeps failing is dead-lettered with the error."""
    try:
        await _retried(handle, events, what)
    except Exception as exc:
        if len(events) == 1:
            await send_to_dead_letters(events[0], f"{what} failed: {type(exc).__name__}: {exc}")
            return
        log.warning("%s of %d records keeps failing; handling them one by one", what, len(events))
        for event in events:
            await handle_in_full(handle, [event], what)


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
