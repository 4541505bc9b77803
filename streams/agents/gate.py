"""Gate agent: every send a send service asks for is checked against the block list before it
can reach a carrier.

Sends arrive on `outbound-messages`, keyed by the end user, so the gate reads them in the end
user's partition, where that end user's block-list entries are: the check is a local read, with
no network call and no replica lag. For each send, by rules/gate.py:
- the end user opted out of the send's kind of message in the number's consent scope
  (rules/kinds.py): a REJECTED result on `send-results`, with the scope and the opt-out that
  caused it; it never reaches the carrier;
- outside the brand's quiet hours at the recipient: held on `outbound-held` until they open,
  then gated again (agents/release_held.py);
- otherwise: handed to carrier delivery on `carrier-sends` (agents/deliver_send.py); for a
  kind-aware brand, remembered as what a STOP from the end user would answer
  (tables/last_sends.py).
A send in another partition (its producer keyed it by something else) is re-keyed by the end
user onto `outbound-messages`, and gated when it comes back in its partition.

"After" a STOP: a send produced after the broker acknowledged an end user's STOP is rejected,
whichever partition the carrier put the STOP on and whichever worker classifies it. Before gating
a batch of sends (and before gating a held send again), the gate asks the broker for its end
offsets and waits until classify has handled every inbound message before them: every partition
of `inbound-messages` first (a STOP keyed by something other than the end user may be on any of
them, and is re-keyed from there), then the sends' partitions of `inbound-by-user`, to their
ends after that (known here when this worker alone classifies every `inbound-messages`
partition, asked of the broker again otherwise). The request is begun once the sends were read:
for sends read while the batch before them is gated, at that point, so that the broker's answer
does not hold up their batch. Partitions this worker classifies are waited for as it marks them;
others by asking the worker that classifies them, or by the consumer group's commits
(streams/runtime/handled.py). A send that reached the broker before the STOP can
still go out: it was asked for first.

With exactly-once, what the gate makes of a batch goes in Kafka transactions with the batch's
offsets (streams/runtime/transactions.py), begun once classify has handled the inbound messages
the batch waits for: a send handled again after a crash was never handed over nor rejected.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from faust.types import EventT

from optout.schemas import DecodeError, Record
from optout.streams.app import (
    app,
    bytes_table,
    carrier_sends_topic,
    config,
    held_sends_topic,
    outbound_serde,
    outbound_topic,
    produce,
    retry_serde,
    send_result_serde,
    send_results_topic,
)
from optout.streams.exceptions import RebalanceUnderWay
from optout.streams.metrics import SENDS
from optout.streams.rules.gate import ALLOW, HOLD, REJECT, gate_verdict, send_result
from optout.streams.rules.partitioning import end_user_partition
from optout.streams.runtime.assignment import assignment
from optout.streams.runtime.batches import batches, handle_in_full, waiting
from optout.streams.runtime.dead_letters import send_to_dead_letters
from optout.streams.runtime.handled import InboundEnds, ask_inbound_ends, wait_for_inbound
from optout.streams.runtime.partition_stores import get_in_partition, put_in_partition
from optout.streams.runtime.pruning import Pruner
from optout.streams.runtime.transactions import (
    BatchTransactions,
    in_transaction_of,
    transactions_for,
)
from optout.streams.sinks.http_delivery import hand_back
from optout.streams.topics import OUTBOUND_TOPIC, REJECTED_SENDS_CHANGELOG_TOPIC
from optout.tables.blocklist import consent_for
from optout.tables.keys import end_user_key
from optout.tables.last_sends import remember_send
from optout.tables.settings import kinds_of, quiet_hours_of, settings_for, settings_read

__all__ = ["gate", "gate_batch", "gate_send", "rejected_sends"]

log = logging.getLogger(__name__)

# Send id -> b"<epoch ms> <the encoded REJECTED result>".
rejected_sends = bytes_table("rejected-sends", REJECTED_SENDS_CHANGELOG_TOPIC)
rejected_pruner = Pruner(rejected_sends, config.dedupe_retention_s, config.prune_interval_s)
SENDS_BY_ACTION = {action: SENDS.labels(action) for action in (ALLOW, REJECT, HOLD)}


# Exactly-once (streams/runtime/transactions.py): a batch's results, hand-overs, holds and
# remembered rejections go in one transaction per partition with the batch's offsets.
transactions = transactions_for("gate", outbound_topic, writes="rejected-sends")


@app.agent(outbound_topic)
async def gate(stream):  # type: ignore[no-untyped-def]
    dead_letter = send_to_dead_letters if transactions is None else transactions.dead_letter
    await settings_read()  # a number's scope and its brand's quiet hours, before its sends
    ahead: InboundEnds | None = None
    async for events in batches(stream):
        asked = ahead if ahead is not None and ahead.cover(events) else None
        # Sends read already wait for the next batch: ask for their ends now, while this batch
        # is gated, not after it (the broker's answer is most of a batch's time otherwise).
        ahead = None
        if waiting(stream):
            ahead = ask_inbound_ends(assignment.read_offsets(OUTBOUND_TOPIC))
        await handle_in_full(partial(gate_batch, asked=asked), events, "gate", dead_letter)


async def gate_batch(events: Sequence[EventT], asked: InboundEnds | None = None) -> None:
    """Gate `events` once classify has handled the inbound messages that were on the broker when
    they had been read (`asked`, if a request was begun then, or one begun now)."""
    try:
        await wait_for_inbound({event.message.partition for event in events}, asked)
    except RebalanceUnderWay as exc:
        log.info("%d sends put back on their topic, to be gated after it: %s", len(events), exc)
        await _in_transactions(events, _hand_back)
        return
    await _in_transactions(events, _gate)
    rejected_pruner.prune(events[-1])


# What handles a batch: in its transactions with exactly-once (else None).
BatchHandler = Callable[[Sequence[EventT], BatchTransactions | None], Awaitable[None]]


async def _in_transactions(events: Sequence[EventT], handle: BatchHandler) -> None:
    if transactions is None:
        await handle(events, None)
    else:
        await transactions.handle(events, handle)


async def _hand_back(events: Sequence[EventT], batch: BatchTransactions | None) -> None:
    handing: list[Awaitable] = []
    for event in events:
        with in_transaction_of(None if batch is None else batch.of(event)):
            handing.append(asyncio.ensure_future(hand_back(event)))
    await asyncio.gather(*handing)


async def _gate(events: Sequence[EventT], batch: BatchTransactions | None) -> None:
    acks: list[Awaitable] = []
    for event in events:
        with in_transaction_of(None if batch is None else batch.of(event)):
            ack = await _gate_or_rekey(event)
        if ack is not None:
            acks.append(ack)
    for ack in acks:
        await ack  # every result, hand-over and hold is on the broker before the batch is acked


async def _gate_or_rekey(event: EventT) -> Awaitable | None:
    """Gate a send in its end user's partition, or re-key it there; the broker's
    acknowledgement (None for a send dead-lettered: it was acknowledged already)."""
    try:
        send = outbound_serde.decode(event.value)
    except DecodeError as exc:
        await send_to_dead_letters(event, str(exc))
        return None
    end_user = send["to_number"]
    if event.message.partition != end_user_partition(end_user, config.partitions):
        return await produce(outbound_topic, end_user_key(end_user), event.value)
    return await gate_send(event, send, event.value)


async def gate_send(event: EventT, send: Record, payload: bytes) -> Awaitable:
    """Check one send in its end user's partition and pass it on; the broker's acknowledgement."""
    now_ms = int(time.time() * 1000)
    settings = settings_for(send["from_number"])
    key, send_id = end_user_key(send["to_number"]), send["message_id"].encode()
    rejected = get_in_partition(rejected_sends, event.message.partition, send_id)
    if rejected is not None:
        log.info("send %s was rejected before; its result is said again", send["message_id"])
        return await produce(send_results_topic, key, rejected.split(b" ", 1)[1])
    consent = consent_for(send["from_number"], send["to_number"], settings)
    kinds = kinds_of(settings)
    verdict = gate_verdict(send, consent, quiet_hours_of(settings), now_ms, kinds)
    SENDS_BY_ACTION[verdict.action].inc()
    log.info("send %s from %s to %s: %s %s", send["message_id"], send["from_number"],
             send["to_number"], verdict.action, verdict.reason or "")  # fmt: skip
    if verdict.action == ALLOW:
        if kinds.kind_aware:
            remember_send(event.message.partition, send["from_number"], send["to_number"],
                          kinds.kind_of(send), send["message_id"], now_ms)  # fmt: skip
        return await produce(carrier_sends_topic, key, payload)
    if verdict.action == REJECT:
        result = send_result_serde.encode(
            send_result(send, "REJECTED", now_ms, verdict.reason, verdict.consent)
        )
        remembered = await put_in_partition(
            rejected_sends, event.message.partition, send_id, b"%d %b" % (now_ms, result)
        )
        return asyncio.gather(remembered, await produce(send_results_topic, key, result))
    held = {
        "kind": "SEND",
        "attempts": 0,
        "not_before": verdict.until_ms,
        "payload": payload,
        "first_attempt_at": now_ms,
        "last_error": verdict.reason,
    }
    return await produce(held_sends_topic, key, retry_serde.encode(held))
