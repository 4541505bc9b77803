"""Sends over HTTP: `POST /v1/messages` puts a send on `outbound-messages` for the gate."""

from __future__ import annotations

import time
import uuid

from faust.web import Request, Response, View

from optout.streams.app import app, outbound_serde, outbound_topic
from optout.streams.rules.validate import message_problems
from optout.streams.web.auth import admin_request
from optout.tables.keys import end_user_key

__all__ = ["SendView", "body_problems", "send_from_body"]

FIELDS = ("from", "to", "text", "media_urls", "reference", "category", "message_id")
STRINGS = ("from", "to", "text")  # required
OPTIONAL_STRINGS = ("reference", "category", "message_id")  # a string, or null or absent


def send_from_body(body: object, now_ms: int) -> tuple[dict, list[str]]:
    """The OutboundMessage a request body asks for, or why it cannot be one. Every field is
    checked for its type here, so that nothing is coerced into another value (a number into a
    reference, an object into a URL) and no wrongly typed field reaches the Avro encoder, whose
    failure would be a 500."""
    if not isinstance(body, dict):
        return {}, ['body must be {"from": "+1...", "to": "+1...", "text": "..."}']
    problems = body_problems(body)
    if problems:
        return {}, problems
    media = body.get("media_urls") or []
    send = {
        "message_id": body.get("message_id") or str(uuid.uuid4()),
        "channel": "MMS" if media else "SMS",
        "from_number": body["from"],
        "to_number": body["to"],
        "text": body["text"],
        "media_urls": media,
        "reference": body.get("reference"),
        "category": body.get("category"),
        "requested_at": now_ms,
    }
    return send, message_problems(send)


def body_problems(body: dict) -> list[str]:
    """Why the fields of a send's body are not of their types (empty: they are)."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        return [f"unknown fields {unknown}; known: {', '.join(FIELDS)}"]
    problems = [
        f"{name} must be a string" for name in STRINGS if not isinstance(body.get(name), str)
    ]
    problems += [
        f"{name} must be a string or null"
        for name in OPTIONAL_STRINGS
        if not isinstance(body.get(name), str | None)
    ]
    media = body.get("media_urls")
    if media is not None and not (
        isinstance(media, list) and all(isinstance(u, str) for u in media)
    ):
        problems.append("media_urls must be a list of URLs (strings)")
    return problems


@app.page("/v1/messages")
class SendView(View):
    """POST a send (admin token): accepted (202) once it is on `outbound-messages`; its result
    comes on `send-results`."""

    async def post(self, request: Request) -> Response:
        _, body = await admin_request(request)
        send, problems = send_from_body(body, int(time.time() * 1000))
        if problems:
            return self.json({"error": "send refused", "problems": problems}, status=400)
        try:
            value = outbound_serde.encode(send)
        except (TypeError, ValueError) as exc:  # checked above: a last guard against a 500
            return self.json({"error": "send refused", "problems": [str(exc)]}, status=400)
        sent = await outbound_topic.send(key=end_user_key(send["to_number"]), value=value)
        await sent
        return self.json({"accepted": send["message_id"], "results": "send-results"}, status=202)
