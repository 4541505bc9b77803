"""Webhook delivery agents: POST each inbound message, with its classification, to the customer.

The URL and signing secret are the number's current settings, so a customer who fixes their
endpoint gets retries and replays there. Requests are signed (streams/rules/webhook_signing.py) and
carry the message id as Idempotency-Key. Deliveries run concurrently, a few per destination at
most: a destination with all its slots busy has further records parked on the first retry tier,
so a hanging customer never holds up the others. Retry tiers are handled the same way
(streams/sinks/http_delivery.py adds their agents).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from faust.types import EventT

from optout.schemas import DecodeError, Record
from optout.streams.app import app, config, webhook_serde, webhook_topic
from optout.streams.rules.destinations import DestinationRefused, check_url
from optout.streams.rules.retry_schedule import AttemptOutcome, Verdict
from optout.streams.rules.webhook_signing import signed_headers
from optout.streams.runtime.dead_letters import send_to_dead_letters
from optout.streams.sinks.http_delivery import (
    Delivery,
    DestinationSlots,
    deliver,
    record_result,
    schedule_retry,
    settle,
)
from optout.streams.sinks.public_resolver import resolver
from optout.streams.topics import WEBHOOK_TOPIC
from optout.tables.settings import settings_for, settings_reader

__all__ = [
    "deliver_webhook",
    "handle_webhook",
    "slots",
    "webhook_body",
    "webhook_delivery",
    "webhook_session",
]

log = logging.getLogger(__name__)

slots = DestinationSlots(config.delivery_concurrency, config.per_destination_concurrency)
_session: aiohttp.ClientSession | None = None


def webhook_session() -> aiohttp.ClientSession:
    """One HTTP session whose resolver refuses non-public addresses unless allowed."""
    global _session
    if _session is None:
        connector = aiohttp.TCPConnector(
            resolver=resolver(config.webhook_allow_private, config.webhook_allowed_hosts),
            limit=config.delivery_concurrency,
        )
        _session = aiohttp.ClientSession(connector=connector)
    return _session


@app.agent(webhook_topic)
async def deliver_webhook(stream):  # type: ignore[no-untyped-def]
    await settings_reader.caught_up.wait()
    async for event in stream.noack().events():
        await handle_webhook(event, envelope=None)


async def handle_webhook(event: EventT, envelope: Record | None) -> None:
    """Start one delivery attempt; the event is acknowledged when the attempt is settled."""
    payload = envelope["payload"] if envelope else event.value
    try:
        webhook_event = webhook_serde.decode(payload)
    except DecodeError as exc:
        await send_to_dead_letters(event, str(exc))
        event.ack()
        return
    delivery = webhook_delivery(webhook_event, payload, envelope)
    if not delivery.url:
        await record_result(event, delivery, "SKIPPED", delivery.attempts_before + 1)
        event.ack()
        return
    try:
        check_url(
            delivery.url,
            config.webhook_allow_http,
            config.webhook_allow_private,
            config.webhook_allowed_hosts,
        )
    except DestinationRefused as exc:
        await settle(event, delivery, AttemptOutcome(Verdict.PERMANENT, error=str(exc)))
        event.ack()
        return
    destination = urlsplit(delivery.url).netloc
    if not slots.has_room(destination):
        busy = f"{destination} has {config.per_destination_concurrency} deliveries in flight"
        await schedule_retry(
            event, delivery, delivery.attempts_before, config.retry_delays[0], busy
        )
        event.ack()
        return
    await slots.run(destination, _deliver_and_ack(event, delivery))


async def _deliver_and_ack(event: EventT, delivery: Delivery) -> None:
    await deliver(event, delivery, webhook_session())
    event.ack()


def webhook_delivery(webhook_event: Record, payload: bytes, envelope: Record | None) -> Delivery:
    message = webhook_event["message"]
    settings = settings_for(message["to_number"])
    body = json.dumps(webhook_body(webhook_event)).encode()
    secret = settings["webhook_secret"]
    return Delivery(
        kind="WEBHOOK",
        topic=WEBHOOK_TOPIC,
        delivery_id=message["message_id"],
        message_id=message["message_id"],
        url=settings["webhook_url"],
        body=body,
        payload=payload,
        headers=(lambda: signed_headers(secret, body)) if secret else dict,
    ).resuming(envelope)


def webhook_body(webhook_event: Record) -> dict[str, Any]:
    """The customer's JSON: shaped like a messaging API's inbound-message webhook."""
    message = webhook_event["message"]
    media = message["media_urls"]
    body: dict[str, Any] = {
        "message_uuid": message["message_id"],
        "channel": message["channel"].lower(),
        "message_type": "image" if media else "text",
        "to": message["to_number"],
        "from": message["from_number"],
        "timestamp": datetime.fromtimestamp(message["received_at"] / 1000, UTC).isoformat(),
        "text": message["text"],
        "carrier": message["carrier"],
        "opt_out_assist": {
            "intent": webhook_event["intent"].lower(),
            "keyword": webhook_event["keyword"],
            "rule": webhook_event["rule"],
            "review": webhook_event["review"],
            "sender_blocked": webhook_event["sender_blocked"],
        },
    }
    if media:
        body["image"] = {"url": media[0]}
        body["media_urls"] = media
    return body
