"""Reply delivery agent: send each auto-reply through the carrier send API over HTTP."""

from __future__ import annotations

import logging

from optout.schemas import DecodeError
from optout.streams.app import app, config, replies_topic, reply_serde
from optout.streams.dead_letter import send_to_dead_letters
from optout.streams.http_delivery import post_json, record_result

log = logging.getLogger(__name__)


@app.agent(replies_topic)
async def deliver_reply(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        try:
            reply = reply_serde.decode(event.value)
        except DecodeError as exc:
            await send_to_dead_letters(event, str(exc))
            continue
        body = {
            "from": reply["from_number"],
            "to": reply["to_number"],
            "channel": reply["channel"].lower(),
            "message_type": "text",
            "text": reply["text"],
            "client_ref": reply["reply_id"],
        }
        result = await post_json(
            config.carrier_api_url,
            body,
            kind="REPLY",
            delivery_id=reply["reply_id"],
            message_id=reply["in_reply_to"],
        )
        log.info(
            "reply %s to %s: %s %s",
            reply["reply_id"],
            reply["to_number"],
            result["outcome"],
            result["http_status"] or result["error"],
        )
        await record_result(event.key, result)
