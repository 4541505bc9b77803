"""Reply delivery agents: send each auto-reply through the carrier send API over HTTP.

A reply is sent at most once per inbound message id: the carrier request carries the reply id
as Idempotency-Key, and the `sent-replies` table remembers what the carrier accepted, so a
worker that restarts between the send and its offset commit does not send it again. Two copies
of one reply (a classify worker replayed it, and the first copy is being retried) are never
attempted at the same time. Replies are sent one at a time in order; failures go through the
retry tiers like webhooks.
"""

from __future__ import annotations

import json
import logging
import time

from faust.types import EventT

from optout.schemas import DecodeError, Record
from optout.streams.app import (
    app,
    bytes_table,
    compliance_alert_serde,
    compliance_alerts_topic,
    config,
    replies_topic,
    reply_serde,
)
from optout.streams.metrics import COMPLIANCE_ALERTS, COMPLIANCE_CLOCK
from optout.streams.rules.deadlines import confirmation_alert
from optout.streams.rules.retry_schedule import AttemptOutcome, Verdict
from optout.streams.runtime.batches import handle_each
from optout.streams.runtime.dead_letters import send_to_dead_letters
from optout.streams.runtime.pruning import Pruner
from optout.streams.sinks.http_delivery import (
    Delivery,
    attempt,
    gave_up,
    one_attempt_at_a_time,
    settle,
)
from optout.streams.topics import REPLIES_TOPIC, SENT_REPLIES_CHANGELOG_TOPIC

__all__ = [
    "alert_if_late",
    "deliver_reply",
    "handle_reply",
    "reply_delivery",
    "sent_pruner",
    "sent_replies",
]

log = logging.getLogger(__name__)

sent_replies = bytes_table("sent-replies", SENT_REPLIES_CHANGELOG_TOPIC)
sent_pruner = Pruner(sent_replies, config.dedupe_retention_s, config.prune_interval_s)


@app.agent(replies_topic)
async def deliver_reply(stream):  # type: ignore[no-untyped-def]
    await handle_each(stream, handle_reply, "reply")


async def handle_reply(event: EventT, envelope: Record | None = None) -> None:
    payload = envelope["payload"] if envelope else event.value
    try:
        reply = reply_serde.decode(payload)
    except DecodeError as exc:
        await send_to_dead_letters(event, str(exc))
        return
    reply_id = reply["reply_id"].encode()
    async with one_attempt_at_a_time(reply_id):
        if sent_replies.get(reply_id) is not None:
            log.info("reply %s was already accepted; not sent again", reply["reply_id"])
            return
        delivery = reply_delivery(reply, payload, envelope)
        started = time.monotonic()
        outcome = await attempt(delivery, app.http_client)
        accepted_at = None
        if outcome.verdict is Verdict.SENT:
            accepted_at = int(time.time() * 1000)
            sent_replies[reply_id] = str(accepted_at).encode()
            clock = time.time() - reply["received_at"] / 1000
            COMPLIANCE_CLOCK.labels(reply["intent"]).observe(clock)
        await settle(event, delivery, outcome, (time.monotonic() - started) * 1000)
        await alert_if_late(reply, accepted_at, delivery, outcome)
    sent_pruner.prune(event)


async def alert_if_late(
    reply: Record, accepted_at: int | None, delivery: Delivery, outcome: AttemptOutcome
) -> None:
    """An opt-out confirmation accepted after its deadline, or given up: on `compliance-alerts`."""
    alert = confirmation_alert(
        reply, accepted_at, gave_up(delivery, outcome), int(time.time() * 1000)
    )
    if alert is None:
        return
    COMPLIANCE_ALERTS.labels(alert["kind"]).inc()
    log.warning("compliance alert %s: %s after %.0fs", alert["kind"], alert["message_id"],
                alert["took_seconds"])  # fmt: skip
    sent = await compliance_alerts_topic.send(
        key=reply["to_number"].encode(), value=compliance_alert_serde.encode(alert)
    )
    await sent


def reply_delivery(reply: Record, payload: bytes, envelope: Record | None) -> Delivery:
    body = {
        "from": reply["from_number"],
        "to": reply["to_number"],
        "channel": reply["channel"].lower(),
        "message_type": "text",
        "text": reply["text"],
        "client_ref": reply["reply_id"],
    }
    return Delivery(
        kind="REPLY",
        topic=REPLIES_TOPIC,
        delivery_id=reply["reply_id"],
        message_id=reply["in_reply_to"],
        url=config.carrier_api_url,
        body=json.dumps(body).encode(),
        payload=payload,
    ).resuming(envelope)
