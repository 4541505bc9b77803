"""Sends over HTTP: `POST /v1/messages` puts a send on `outbound-messages` for the gate."""

from __future__ import annotations

import time
import uuid

from faust.web import Request, Response, View

from optout.streams.app import app, outbound_serde, outbound_topic
from optout.streams.rules.validate import message_problems
from optout.streams.web.auth import Refused, admin_request
from optout.tables.keys import end_user_key

__all__ = ["SendView", "send_from_body"]

FIELDS = ("from", "to", "text", "media_urls", "reference", "category", "message_id")


def send_from_body(body: object, now_ms: int) -> tuple[dict, list[str]]:
    """The OutboundMessage a request body asks for, or why it cannot be one."""
    if not isinstance(body, dict):
        return {}, ['body must be {"from": "+1...", "to": "+1...", "text": "..."}']
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        return {}, [f"unknown fields {unknown}; known: {', '.join(FIELDS)}"]
    media = body.get("media_urls") or []
    texts = [body.get(k) for k in ("from", "to", "text")]
    if not all(isinstance(v, str) for v in texts) or not isinstance(media, list):
        return {}, ["from, to and text must be strings, media_urls a list of URLs"]
    send = {
        "message_id": str(body.get("message_id") or uuid.uuid4()),
        "channel": "MMS" if media else "SMS",
        "from_number": body["from"],
        "to_number": body["to"],
        "text": body["text"],
        "media_urls": [str(url) for url in media],
        "reference": body.get("reference"),
        "category": body.get("category"),
        "requested_at": now_ms,
    }
    return send, message_problems(send)


@app.page("/v1/messages")
class SendView(View):
    """POST a send (admin token): accepted (202) once it is on `outbound-messages`; its result
    comes on `send-results`."""

    async def post(self, request: Request) -> Response:
        try:
            _, body = await admin_request(request)
        except Refused as refused:
            return self.json({"error": str(refused)}, status=refused.status)
        send, problems = send_from_body(body, int(time.time() * 1000))
        if problems:
            return self.json({"error": "send refused", "problems": problems}, status=400)
        sent = await outbound_topic.send(
            key=end_user_key(send["to_number"]), value=outbound_serde.encode(send)
        )
        await sent
        return self.json({"accepted": send["message_id"], "results": "send-results"}, status=202)
