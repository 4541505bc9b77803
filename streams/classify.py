"""Classify agent: one inbound message in, its decision applied and published.

Per message, in this order, so that a crash at any point loses nothing:
1. a redelivered message id is skipped;
2. the block-list entry (and its audit history) is written first, so the block is in force
   before any reply goes out;
3. reply, opt-out event and webhook event are published and acknowledged;
4. only then the message id is remembered as done.
A crash before 4 reprocesses the message; decide() recognises its own earlier entry and
publishes the same records again, with the same ids, for the delivery agents to deduplicate.
"""

from __future__ import annotations

import asyncio
import logging
import time

from optout.schemas import DecodeError, Record
from optout.streams.app import (
    app,
    bytes_table,
    inbound_by_pair_topic,
    inbound_serde,
    optout_event_serde,
    optout_events_topic,
    replies_topic,
    reply_serde,
    webhook_serde,
    webhook_topic,
)
from optout.streams.config import SEEN_MESSAGES_CHANGELOG_TOPIC
from optout.streams.dead_letter import send_to_dead_letters
from optout.streams.decide import Decision, consent_event, decide
from optout.streams.metrics import MESSAGES, PROCESSING
from optout.tables.blocklist import get_entry, pair_key, put_entry
from optout.tables.history import record_change
from optout.tables.settings import settings_for, settings_reader

log = logging.getLogger(__name__)

# Message ids already processed, so a carrier's redelivery sends no second reply.
seen_messages = bytes_table("seen-messages", SEEN_MESSAGES_CHANGELOG_TOPIC)


@app.agent(inbound_by_pair_topic)
async def classify(stream):  # type: ignore[no-untyped-def]
    # A disabled number or a custom brand must be known before the first message is decided.
    await settings_reader.caught_up.wait()
    async for event in stream.events():
        try:
            message = inbound_serde.decode(event.value)
        except DecodeError as exc:
            await send_to_dead_letters(event, str(exc))
            continue
        message_id = message["message_id"]
        if seen_messages.get(message_id.encode()) is not None:
            log.info("redelivered message %s ignored", message_id)
            continue

        business, end_user = message["to_number"], message["from_number"]
        started = time.perf_counter()
        now_ms = int(time.time() * 1000)
        settings = settings_for(business)
        decision = decide(message, get_entry(business, end_user), settings, now_ms)
        if decision.entry_changed and decision.entry is not None:
            put_entry(decision.entry)
        change = None
        if decision.consent_action is not None and decision.entry is not None:
            change = consent_event(decision.entry, message["received_at"])
            record_change(change)
        await _publish(message, decision, change, now_ms)
        seen_messages[message_id.encode()] = str(now_ms).encode()
        classification = decision.classification
        MESSAGES.labels(classification.intent.value, classification.rule).inc()
        PROCESSING.observe(time.perf_counter() - started)
        log.info(
            "message %s from %s to %s: %s (%s)",
            message_id,
            end_user,
            business,
            classification.intent,
            classification.rule,
        )


async def _publish(message: Record, decision: Decision, change: Record | None, now_ms: int) -> None:
    """Send every record the decision calls for and wait until the broker has them all."""
    key = pair_key(message["to_number"], message["from_number"])
    records = [(webhook_topic, webhook_serde.encode(_webhook_event(message, decision)))]
    if decision.reply_text is not None:
        records.append((replies_topic, reply_serde.encode(_reply(message, decision, now_ms))))
    if change is not None:
        records.append((optout_events_topic, optout_event_serde.encode(change)))
    pending = [await topic.send(key=key, value=value) for topic, value in records]
    await asyncio.gather(*pending)


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
