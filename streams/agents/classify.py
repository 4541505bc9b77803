"""Classify agent: inbound messages in, each one's decision applied and published.

Messages come in batches (streams/runtime/batches.py) and are handled in this order, so that a
crash at any point loses nothing and applies nothing twice:
1. a redelivered message id is skipped;
2. per message, in partition order: the block-list entry (and its audit history) is written, so
   the block is in force before any reply goes out;
3. once those table changes are on the broker (one producer flush for many messages), each
   message's reply, opt-out event and webhook event are sent, and the broker's
   acknowledgements awaited;
4. only then are those message ids remembered as done (and, after the batch, acknowledged).
A crash before 4 reprocesses the messages; decide() recognises its own earlier entry and
publishes the same records again, with the same ids, for the delivery agents to deduplicate.
That works only if a pair has at most one message between 2 and 4, so a second message of a
pair waits until the first one is confirmed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence

from faust.types import EventT

from optout.schemas import DecodeError, Record
from optout.streams.app import (
    app,
    bytes_table,
    inbound_by_pair_topic,
    inbound_serde,
    optout_event_serde,
    optout_events_topic,
    produce,
    replies_topic,
    reply_serde,
    webhook_serde,
    webhook_topic,
)
from optout.streams.metrics import MESSAGES, PROCESSING
from optout.streams.rules.decide import Decision, consent_event, decide
from optout.streams.runtime.batches import batches, handle_in_full, table_writes_for
from optout.streams.runtime.dead_letters import send_to_dead_letters
from optout.streams.topics import SEEN_MESSAGES_CHANGELOG_TOPIC
from optout.tables.blocklist import get_entry, put_entry
from optout.tables.history import record_change
from optout.tables.keys import pair_key
from optout.tables.settings import settings_for, settings_reader

__all__ = [
    "Unconfirmed",
    "classify",
    "classify_batch",
    "classify_one",
    "seen_messages",
    "send_outputs",
]

log = logging.getLogger(__name__)

# Message ids already processed, so a carrier's redelivery sends no second reply.
seen_messages = bytes_table("seen-messages", SEEN_MESSAGES_CHANGELOG_TOPIC)


@app.agent(inbound_by_pair_topic)
async def classify(stream):  # type: ignore[no-untyped-def]
    # A disabled number or a custom brand must be known before the first message is decided.
    await settings_reader.caught_up.wait()
    async for events in batches(stream):
        await handle_in_full(classify_batch, events, "classify")


class Unconfirmed:
    """Messages decided, with their table changes written, whose records are not yet on the
    broker."""

    def __init__(self) -> None:
        self.outputs: list[tuple[Record, Decision, Record | None, int]] = []
        self.done: dict[bytes, tuple[EventT, bytes]] = {}  # message id: its event, when done
        self.pairs: set[bytes] = set()

    async def confirm(self) -> None:
        """Send the messages' records once their table changes are on the broker, wait for the
        broker, then remember the message ids as done."""
        if any(d.entry_changed or change is not None for _, d, change, _ in self.outputs):
            # A block is on the broker, for a worker taking over, before its confirmation is sent.
            await app.producer.flush()
        acks = [ack for output in self.outputs for ack in await send_outputs(*output)]
        await asyncio.gather(*acks)
        for message_id, (event, done_at) in self.done.items():
            with table_writes_for(event):
                seen_messages[message_id] = done_at
        self.outputs.clear()
        self.done.clear()
        self.pairs.clear()


async def classify_batch(events: Sequence[EventT]) -> None:
    unconfirmed = Unconfirmed()
    for event in events:
        try:
            message = inbound_serde.decode(event.value)
        except DecodeError as exc:
            await send_to_dead_letters(event, str(exc))
            continue
        message_id = message["message_id"].encode()
        if message_id in unconfirmed.done or seen_messages.get(message_id) is not None:
            log.info("redelivered message %s ignored", message["message_id"])
            continue
        pair = pair_key(message["to_number"], message["from_number"])
        if pair in unconfirmed.pairs:
            await unconfirmed.confirm()
        now_ms = int(time.time() * 1000)
        with table_writes_for(event):
            decision, change = classify_one(message, now_ms)
        unconfirmed.outputs.append((message, decision, change, now_ms))
        unconfirmed.done[message_id] = (event, str(now_ms).encode())
        unconfirmed.pairs.add(pair)
    await unconfirmed.confirm()


def classify_one(message: Record, now_ms: int) -> tuple[Decision, Record | None]:
    """Decide one message and write its block-list change: the decision and its consent event."""
    started = time.perf_counter()
    business, end_user = message["to_number"], message["from_number"]
    decision = decide(message, get_entry(business, end_user), settings_for(business), now_ms)
    if decision.entry_changed and decision.entry is not None:
        put_entry(decision.entry)
    change = None
    if decision.consent_action is not None and decision.entry is not None:
        change = consent_event(decision.entry, message["received_at"])
        record_change(change)
    classification = decision.classification
    MESSAGES.labels(classification.intent.value, classification.rule).inc()
    PROCESSING.observe(time.perf_counter() - started)
    log.info(
        "message %s from %s to %s: %s (%s)",
        message["message_id"],
        end_user,
        business,
        classification.intent,
        classification.rule,
    )
    return decision, change


async def send_outputs(
    message: Record, decision: Decision, change: Record | None, now_ms: int
) -> list[Awaitable]:
    """Send every record the decision calls for; the broker's acknowledgements, to wait for."""
    key = pair_key(message["to_number"], message["from_number"])
    records = [(webhook_topic, webhook_serde.encode(_webhook_event(message, decision)))]
    if decision.reply_text is not None:
        records.append((replies_topic, reply_serde.encode(_reply(message, decision, now_ms))))
    if change is not None:
        records.append((optout_events_topic, optout_event_serde.encode(change)))
    return [await produce(topic, key, value) for topic, value in records]


def _reply(message: Record, decision: Decision, now_ms: int) -> Record:
    classification = decision.classification
    return {
        "reply_id": f"{message['message_id']}:reply",
        "in_reply_to": message["message_id"],
        "channel": message["channel"],
        "from_number": message["to_number"],
        "to_number": message["from_number"],
        "text": decision.reply_text,
        "intent": classification.intent.value,
        "language": decision.reply_language,
        "received_at": message["received_at"],
        "created_at": now_ms,
    }


def _webhook_event(message: Record, decision: Decision) -> Record:
    classification = decision.classification
    return {
        "message": message,
        "intent": classification.intent.value,
        "keyword": classification.keyword,
        "rule": classification.rule,
        "review": classification.review,
        "sender_blocked": decision.sender_blocked,
        "classified_at": int(time.time() * 1000),
    }
