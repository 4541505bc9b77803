"""HTTP deliveries with retries through retry topics and dead letters when they give up.

Shared by the reply, webhook and send delivery agents. One attempt is judged by
rules/retry_schedule.py; then:
- sent: a SENT result;
- a transient failure with attempts left: the record goes to `<topic>-retry-<tier>` wrapped in
  a DeliveryRetry envelope that says when it is due (a RETRYING result);
- a permanent failure, or no attempts left: the original record goes to `dead-letters` with the
  reason (a DEAD_LETTERED result).
Retry agents (one per tier) wait until each envelope is due and attempt again. Every attempt
is published to `delivery-results` and counted in /metrics.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import cast

import aiohttp
from faust.streams import Stream
from faust.types import EventT, StreamT, TopicT

from optout.schemas import DecodeError, Record
from optout.streams.app import (
    app,
    config,
    delivery_result_serde,
    delivery_results_topic,
    produce,
    raw_topic,
    retry_serde,
)
from optout.streams.metrics import DELIVERIES, DELIVERY_LATENCY
from optout.streams.rules.destinations import DestinationRefused
from optout.streams.rules.retry_schedule import (
    AttemptOutcome,
    Verdict,
    outcome_for_status,
    retry_delay,
    retry_tier,
)
from optout.streams.runtime.batches import handle_each
from optout.streams.runtime.dead_letters import send_to_dead_letters
from optout.streams.topics import (
    CARRIER_SENDS_TOPIC,
    REPLIES_TOPIC,
    RETRY_TIERS,
    WEBHOOK_TOPIC,
    retry_topic,
)

__all__ = [
    "Delivery",
    "DestinationSlots",
    "Handler",
    "attempt",
    "attempt_copies",
    "attempt_locks",
    "deliver",
    "gave_up",
    "hand_back",
    "jitter",
    "one_attempt_at_a_time",
    "record_result",
    "retry_each",
    "retry_topics",
    "schedule_retry",
    "settle",
    "wait_until_due",
]

log = logging.getLogger(__name__)
jitter = random.Random()
# The delivery ids being attempted now (by a main agent or a retry agent), and how many copies
# of each hold or wait for its lock.
attempt_locks: dict[bytes, asyncio.Lock] = {}
attempt_copies: Counter[bytes] = Counter()


@dataclass
class Delivery:
    """One HTTP request to make, and what it belongs to."""

    kind: str  # REPLY, WEBHOOK or SEND
    topic: str  # the topic its record came from first: outbound-replies, customer-webhook or
    # carrier-sends
    delivery_id: str  # the Idempotency-Key, the same on every attempt
    message_id: str
    url: str | None
    body: bytes
    payload: bytes  # the original record, for retries and dead letters
    attempts_before: int = 0
    first_attempt_at: int = field(default_factory=lambda: int(time.time() * 1000))
    headers: Callable[[], dict[str, str]] = dict  # made per attempt: signatures are timed

    def resuming(self, envelope: Record | None) -> Delivery:
        """This delivery, counting the attempts a retry envelope says were made already."""
        if envelope is not None:
            self.attempts_before = envelope["attempts"]
            self.first_attempt_at = envelope["first_attempt_at"]
        return self


async def attempt(delivery: Delivery, session: aiohttp.ClientSession) -> AttemptOutcome:
    """Make one request and judge the answer."""
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": delivery.delivery_id,
        **delivery.headers(),
    }
    try:
        async with session.post(
            delivery.url or "",
            data=delivery.body,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=config.http_timeout),
        ) as response:
            return outcome_for_status(
                response.status,
                await response.text(),
                response.headers.get("Retry-After"),
                time.time(),
            )
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, DestinationRefused):
            return AttemptOutcome(Verdict.PERMANENT, error=str(exc.os_error))
        return AttemptOutcome(Verdict.RETRY, error=f"cannot connect: {exc.os_error}")
    except TimeoutError:
        return AttemptOutcome(Verdict.RETRY, error=f"no answer within {config.http_timeout}s")
    except aiohttp.ClientError as exc:
        return AttemptOutcome(Verdict.RETRY, error=f"{type(exc).__name__}: {exc}")


async def deliver(
    event: EventT, delivery: Delivery, session: aiohttp.ClientSession
) -> AttemptOutcome:
    """Attempt once and settle the outcome: result, retry or dead letter."""
    started = time.monotonic()
    outcome = await attempt(delivery, session)
    DELIVERY_LATENCY.labels(delivery.kind).observe(time.monotonic() - started)
    await settle(event, delivery, outcome, (time.monotonic() - started) * 1000)
    return outcome


async def settle(
    event: EventT, delivery: Delivery, outcome: AttemptOutcome, latency_ms: float = 0.0
) -> None:
    attempts = delivery.attempts_before + 1
    if outcome.verdict is Verdict.SENT:
        result = "SENT"
    elif outcome.verdict is Verdict.RETRY and attempts < config.max_attempts:
        result = "RETRYING"
        delay = retry_delay(attempts, config.retry_delays, outcome.retry_after, jitter)
        await schedule_retry(event, delivery, attempts, delay, outcome.error)
    else:
        result = "DEAD_LETTERED"
        why = outcome.error if outcome.verdict is Verdict.PERMANENT else f"gave up: {outcome.error}"
        reason = (
            f"{delivery.kind.lower()} {delivery.delivery_id} to {delivery.url} "
            f"after {attempts} attempt(s): {why}"
        )
        await send_to_dead_letters(event, reason, delivery.payload, delivery.topic)
    log.info(
        "%s %s attempt %d to %s: %s (%s)",
        delivery.kind.lower(),
        delivery.delivery_id,
        attempts,
        delivery.url,
        result,
        outcome.http_status or outcome.error,
    )
    await record_result(event, delivery, result, attempts, outcome, latency_ms)


def gave_up(delivery: Delivery, outcome: AttemptOutcome) -> bool:
    """Whether `settle` dead-letters this outcome: a permanent failure, or no attempt left."""
    attempts = delivery.attempts_before + 1
    return outcome.verdict is Verdict.PERMANENT or (
        outcome.verdict is Verdict.RETRY and attempts >= config.max_attempts
    )


async def schedule_retry(
    event: EventT, delivery: Delivery, attempts: int, delay: float, error: str | None
) -> None:
    """Put the delivery on the retry topic whose tier fits the delay."""
    envelope = {
        "kind": delivery.kind,
        "attempts": attempts,
        "not_before": int((time.time() + delay) * 1000),
        "payload": delivery.payload,
        "first_attempt_at": delivery.first_attempt_at,
        "last_error": error,
    }
    tier = retry_tier(delay, config.retry_delays)
    sent = await retry_topics[delivery.topic][tier - 1].send(
        key=event.message.key, value=retry_serde.encode(envelope)
    )
    await sent  # the delivery is safe on its retry topic before its event is acknowledged


async def record_result(
    event: EventT,
    delivery: Delivery,
    outcome_name: str,
    attempt_number: int,
    outcome: AttemptOutcome | None = None,
    latency_ms: float = 0.0,
) -> None:
    DELIVERIES.labels(delivery.kind, outcome_name).inc()
    result: Record = {
        "delivery_id": delivery.delivery_id,
        "kind": delivery.kind,
        "message_id": delivery.message_id,
        "destination": delivery.url or "",
        "outcome": outcome_name,
        "attempt": attempt_number,
        "http_status": outcome.http_status if outcome else None,
        "error": outcome.error if outcome else None,
        "latency_ms": latency_ms,
        "attempted_at": int(time.time() * 1000),
    }
    await delivery_results_topic.send(
        key=event.message.key, value=delivery_result_serde.encode(result)
    )


async def wait_until_due(envelope: Record) -> bool:
    """Sleep until a retry envelope's not_before: True. False as soon as the worker stops or
    its partitions move first: Faust waits for every record being handled before either, so a
    record waiting minutes (or a send held for hours) would hold up both."""
    while (delay := envelope["not_before"] / 1000 - time.time()) > 0:
        if app.should_stop or app.rebalancing:
            return False
        await asyncio.sleep(min(delay, 1.0))
    return True


async def hand_back(event: EventT) -> None:
    """Put a waiting record back on its topic (its copy is read again, by this worker or the
    partition's next owner), so that this one can be acknowledged."""
    await (await produce(raw_topic(event.message.topic), event.message.key, event.value))


Handler = Callable[[EventT, Record | None], Awaitable[None]]


async def retry_each(
    stream: StreamT,
    handle: Handler,
    acks_itself: bool,
    before: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """The body of a retry tier's agent: wait until each envelope is due, then handle it as the
    main agent would. `acks_itself`: the handler acknowledges events when its (concurrent)
    delivery is settled; otherwise each event is acknowledged once handled."""

    async def retry(event: EventT) -> None:
        try:
            envelope = retry_serde.decode(event.value)
        except DecodeError as exc:
            await send_to_dead_letters(event, str(exc))
            if acks_itself:
                event.ack()
            return
        if await wait_until_due(envelope):
            await handle(event, envelope)
            return
        await hand_back(event)
        if acks_itself:
            event.ack()

    if before is not None:
        await before()
    if acks_itself:
        async for event in cast(Stream, stream).noack().events():
            await retry(event)
    else:
        await handle_each(stream, retry, f"{cast(TopicT, stream.channel).get_topic_name()} agent")


@asynccontextmanager
async def one_attempt_at_a_time(delivery_id: bytes) -> AsyncIterator[None]:
    """Hold a delivery id while it is attempted: a second copy (a replay being retried at the same
    time) waits, then finds it sent."""
    lock = attempt_locks.setdefault(delivery_id, asyncio.Lock())
    attempt_copies[delivery_id] += 1
    try:
        async with lock:
            yield
    finally:
        attempt_copies[delivery_id] -= 1
        if not attempt_copies[delivery_id]:
            del attempt_copies[delivery_id], attempt_locks[delivery_id]


class DestinationSlots:
    """At most `per_destination` deliveries in flight to one host and `total` overall, so a
    slow or dead customer endpoint holds a few slots, never the whole worker."""

    def __init__(self, total: int, per_destination: int) -> None:
        self.total = asyncio.Semaphore(total)
        self.per_destination = per_destination
        self.in_flight: Counter[str] = Counter()
        self._running: set[asyncio.Future[None]] = set()  # the loop keeps only weak references

    def has_room(self, destination: str) -> bool:
        return self.in_flight[destination] < self.per_destination

    async def run(self, destination: str, work: Awaitable[object]) -> None:
        """Start `work` in the background once a slot is free (waits only for the total)."""
        await self.total.acquire()
        self.in_flight[destination] += 1

        async def finish() -> None:
            try:
                await work
            except Exception:
                log.exception("delivery to %s failed unexpectedly", destination)
            finally:
                self.in_flight[destination] -= 1
                self.total.release()

        task = asyncio.ensure_future(finish())
        self._running.add(task)
        task.add_done_callback(self._running.discard)


retry_topics = {
    base: [raw_topic(retry_topic(base, tier)) for tier in range(1, RETRY_TIERS + 1)]
    for base in (REPLIES_TOPIC, WEBHOOK_TOPIC, CARRIER_SENDS_TOPIC)
}
