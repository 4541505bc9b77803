"""Webhook delivery agent: POST each inbound message, with its classification, to the customer."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from optout.schemas import DecodeError, Record
from optout.streams.app import app, webhook_serde, webhook_topic
from optout.streams.dead_letter import send_to_dead_letters
from optout.streams.http_delivery import post_json, record_result

log = logging.getLogger(__name__)


@app.agent(webhook_topic)
async def deliver_webhook(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        try:
            webhook_event = webhook_serde.decode(event.value)
        except DecodeError as exc:
            await send_to_dead_letters(event, str(exc))
            continue
        message = webhook_event["message"]
        result = await post_json(
            webhook_event["webhook_url"],
            webhook_body(webhook_event),
            kind="WEBHOOK",
            delivery_id=message["message_id"],
            message_id=message["message_id"],
        )
        log.info(
            "webhook for %s to %s: %s %s",
            message["message_id"],
            webhook_event["webhook_url"],
            result["outcome"],
            result["http_status"] or result["error"],
        )
        await record_result(event.key, result)


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
