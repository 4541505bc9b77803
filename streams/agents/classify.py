"""Classify agent: inbound messages in, each one's decision applied and published.

It reads `inbound-messages` as carriers write it, and `inbound-by-user`, co-partitioned. A
message in its end user's partition (the one Kafka's default partitioner gives the sender's
number, as it does for a carrier keying by the sender) is classified where it is; any other is
re-keyed by the end user onto `inbound-by-user` and classified when it comes back in its partition.
Either way all of an end user's messages, to any number, are classified in one partition, in order.

Messages come in batches (streams/runtime/batches.py) and are handled in this order, so that a
crash at any point loses nothing and applies nothing twice:
1. a keyword message (any intent but none, or flagged for review) seen before is skipped: its
   id is among the seen-marks, whether or not it changed anything, so a copy read again (a
   carrier's redelivery, or the re-key hop producing its records again after a crash) can never
   apply a STOP or START after a later change; a plain text leaves no mark and writes nothing
   to any table;
2. per message, in partition order: the end user's entry in the number's consent scope (and its
   audit history) is written, so the block is in force before any reply goes out;
3. once those table changes are on the broker (one producer flush for many messages), each
   message's reply, opt-out event and webhook event are sent, and the broker's
   acknowledgements awaited;
4. only then are the ids of the messages with effects remembered as done (and, after the batch,
   every message acknowledged).
A crash before 4 reprocesses the messages; decide() recognises its own earlier entry and
publishes the same records again, with the same ids, for the delivery agents to deduplicate.
That works only if an end user has at most one keyword message between 2 and 4, so a second
one of the end user waits until the first one is confirmed (and its mark is on the broker).
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
    config,
    consent_review_topic,
    inbound_serde,
    inbound_topics,
    optout_event_serde,
    optout_events_topic,
    produce,
    rekeyed_inbound_topic,
    replies_topic,
    reply_serde,
    review_serde,
    webhook_serde,
    webhook_topic,
)
from optout.streams.metrics import MESSAGES, PROCESSING
from optout.streams.rules.decide import Decision, consent_event, decide
from optout.streams.rules.keywords import Intent
from optout.streams.rules.kinds import kinds_of_brand
from optout.streams.rules.partitioning import end_user_partition
from optout.streams.rules.review import review_item
from optout.streams.rules.validate import validate_inbound
from optout.streams.runtime.batches import batches, handle_in_full, table_writes_for
from optout.streams.runtime.dead_letters import send_to_dead_letters
from optout.streams.runtime.handled import classified
from optout.streams.runtime.pruning import Pruner
from optout.streams.runtime.transactions import (
    BatchTransactions,
    Transaction,
    in_transaction_of,
    transactions_for,
)
from optout.streams.topics import SEEN_MESSAGES_CHANGELOG_TOPIC
from optout.tables.blocklist import entry_in, put_entry
from optout.tables.history import record_change
from optout.tables.keys import end_user_key
from optout.tables.last_sends import last_send
from optout.tables.review import review_items, review_reader
from optout.tables.settings import (
    brand_of,
    former_members,
    members_of,
    settings_for,
    settings_read,
)

__all__ = [
    "Unconfirmed",
    "apply",
    "classify",
    "classify_batch",
    "decide_one",
    "is_remembered",
    "position_of",
    "seen_messages",
    "seen_pruner",
    "send_outputs",
]

log = logging.getLogger(__name__)

# Ids of messages that had effects, so a carrier's redelivery sends no second reply; each with
# the time it was handled, forgotten after the retention.
seen_messages = bytes_table("seen-messages", SEEN_MESSAGES_CHANGELOG_TOPIC)
seen_pruner = Pruner(seen_messages, config.dedupe_retention_s, config.prune_interval_s)
# Exactly-once (streams/runtime/transactions.py): each batch's records, table changes and offsets
# committed in one transaction per partition number.
transactions = transactions_for("classify", inbound_topics, writes="blocklist")


@app.agent(inbound_topics)
async def classify(stream):  # type: ignore[no-untyped-def]
    # A disabled number or a custom brand must be known before the first message is decided.
    await settings_read()
    await review_reader.caught_up.wait()  # flagged messages decided already are not reopened
    async for events in batches(stream):
        await handle_in_full(classify_batch, events, "classify", dead_letter)


class Unconfirmed:
    """Messages decided, with their table changes written, whose records are not yet on the
    broker; and records re-keyed to their end user's partition, not yet acknowledged."""

    def __init__(self, batch: BatchTransactions | None = None) -> None:
        self.batch = batch
        self.outputs: list[tuple[Transaction | None, Record, Decision, Record | None, int]] = []
        # message id: its event, its seen-mark, whether the mark must be on the broker before
        # any later change is made
        self.done: dict[bytes, tuple[EventT, bytes, bool]] = {}
        self.end_users: set[str] = set()
        self.rekeyed: list[Awaitable] = []

    async def confirm(self) -> None:
        """Send the messages' records once their table changes are on the broker, wait for the
        broker, then remember the ids of the keyword messages."""
        if any(d.entry_changed or change is not None for _, _, d, change, _ in self.outputs):
            # A block is on the broker, for a worker taking over, before its confirmation is sent.
            await app.producer.flush()
        acks = []
        for transaction, message, decision, change, now_ms in self.outputs:
            with in_transaction_of(transaction):
                acks += await send_outputs(message, decision, change, now_ms)
        await asyncio.gather(*acks)
        classified.note_rekeyed(await asyncio.gather(*self.rekeyed))
        for message_id, (event, seen_mark, _) in self.done.items():
            with table_writes_for(event), in_transaction_of(self.transaction_of(event)):
                seen_messages[message_id] = seen_mark
        if any(mark_first for _, _, mark_first in self.done.values()):
            # Only its mark keeps a keyword message that changed nothing (a second STOP) from
            # being applied when read again after a later change: on the broker before that
            # change is made, whichever brokers lead the two changelogs.
            await app.producer.flush()
        self.outputs.clear()
        self.done.clear()
        self.end_users.clear()
        self.rekeyed.clear()

    def transaction_of(self, event: EventT) -> Transaction | None:
        return None if self.batch is None else self.batch.of(event)


async def classify_batch(events: Sequence[EventT]) -> None:
    if transactions is None:
        await _classify(events)
    else:
        events = await transactions.handle(events, _classify)
    classified.mark(events)
    if events:
        seen_pruner.prune(events[-1])


async def dead_letter(event: EventT, reason: str) -> None:
    """A message classify cannot handle, dead-lettered: handled as far as the gate and lookups
    are concerned."""
    if transactions is None:
        await send_to_dead_letters(event, reason)
    else:
        await transactions.dead_letter(event, reason)
    classified.mark([event])


async def _classify(events: Sequence[EventT], batch: BatchTransactions | None = None) -> None:
    unconfirmed = Unconfirmed(batch)
    for event in events:
        with in_transaction_of(unconfirmed.transaction_of(event)):
            await _classify_one(event, unconfirmed)
    await unconfirmed.confirm()


async def _classify_one(event: EventT, unconfirmed: Unconfirmed) -> None:
    try:
        message = inbound_serde.decode(event.value)
        validate_inbound(message)
    except DecodeError as exc:
        await send_to_dead_letters(event, str(exc))
        return
    end_user = message["from_number"]
    if event.message.partition != end_user_partition(end_user, config.partitions):
        rekeyed = await produce(rekeyed_inbound_topic, end_user_key(end_user), event.value)
        unconfirmed.rekeyed.append(rekeyed)
        return
    now_ms = int(time.time() * 1000)
    message_id = message["message_id"].encode()
    with table_writes_for(event):  # reads and writes in the end user's partition
        decision = decide_one(message, now_ms, position_of(event))
        if is_remembered(decision):
            if message_id in unconfirmed.done or seen_messages.get(message_id) is not None:
                log.info("redelivered message %s ignored", message["message_id"])
                return
            if end_user in unconfirmed.end_users:
                await unconfirmed.confirm()
            mark_first = could_change_later(decision)
            unconfirmed.done[message_id] = (event, str(now_ms).encode(), mark_first)
            unconfirmed.end_users.add(end_user)
        change = apply(decision, message)
    unconfirmed.outputs.append(
        (unconfirmed.transaction_of(event), message, decision, change, now_ms)
    )


def is_remembered(decision: Decision) -> bool:
    """Whether a message's id is remembered as handled: a keyword message (any intent but none,
    a keyword read as none, like YES while not blocked or an old START), or one flagged for
    review, whether or not it changed anything; and any message that replied or changed the
    block list. Plain texts (most traffic) leave no mark."""
    classification = decision.classification
    return (
        classification.intent is not Intent.NONE
        or classification.keyword is not None
        or classification.review
        or decision.reply_text is not None
        or decision.entry_changed
    )


def could_change_later(decision: Decision) -> bool:
    """Whether a message that changed nothing now could change something if read again after a
    later change: a keyword (a second STOP, a YES while not blocked). A text flagged for review
    with no keyword decides nothing whenever it is read; it is remembered only for its review
    item."""
    classification = decision.classification
    had_effects = decision.reply_text is not None or decision.entry_changed
    keyword = classification.intent is not Intent.NONE or classification.keyword is not None
    return keyword and not had_effects


def position_of(event: EventT) -> str:
    """Where a message was read: 'topic:partition:offset'."""
    return f"{event.message.topic}:{event.message.partition}:{event.message.offset}"


def decide_one(message: Record, now_ms: int, position: str) -> Decision:
    """What one message does, from the end user's entries and the number's settings."""
    started = time.perf_counter()
    business, end_user = message["to_number"], message["from_number"]
    settings = settings_for(business)
    brand = brand_of(settings)
    kinds = kinds_of_brand(brand)
    answered = None
    if kinds.kind_aware:  # only a kind-aware brand's sends are remembered (agents/gate.py)
        answered = last_send(end_user_partition(end_user, config.partitions), business, end_user)
        if answered is not None and answered.at_ms < (brand or {}).get("updated_at", 0):
            answered = None  # from before the brand's settings changed: maybe not its last
    decision = decide(
        message,
        settings,
        lambda scope: entry_in(scope, end_user),
        now_ms,
        position,
        former_members,
        members_of,
        kinds,
        answered,
    )
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
    return decision


def apply(decision: Decision, message: Record) -> Record | None:
    """Write a decision's block-list changes and its audit history; its consent event, if any."""
    if decision.entry_changed and decision.entry is not None:
        put_entry(decision.entry)
    for kept in decision.kept:
        put_entry(kept)
    for lifted in decision.lifted:
        put_entry(lifted)
    if decision.consent_action is None or decision.entry is None:
        return None
    change = consent_event(decision.entry, message["received_at"], message, decision)
    record_change(change)
    for lifted in decision.lifted:  # one opt-out event, for the scope; each own history says so
        record_change(consent_event(lifted, message["received_at"], message, decision))
    return change


async def send_outputs(
    message: Record, decision: Decision, change: Record | None, now_ms: int
) -> list[Awaitable]:
    """Send every record the decision calls for; the broker's acknowledgements, to wait for."""
    key = end_user_key(message["from_number"])
    records = [(webhook_topic, key, webhook_serde.encode(_webhook_event(message, decision)))]
    if decision.reply_text is not None:
        reply = reply_serde.encode(_reply(message, decision, now_ms))
        records.append((replies_topic, key, reply))
    if change is not None:
        records.append((optout_events_topic, key, optout_event_serde.encode(change)))
    item_key = message["message_id"].encode()
    if decision.classification.review and item_key not in review_items:
        # Keyed by its id: the compacted topic keeps its state; an item that exists already
        # (open, or decided by a person) is never put back to OPEN by a redelivery.
        item = review_serde.encode(review_item(message, decision.classification.rule))
        records.append((consent_review_topic, item_key, item))
    return [await produce(topic, record_key, value) for topic, record_key, value in records]


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
