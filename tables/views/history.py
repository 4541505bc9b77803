"""The audit history's HTTP API: every change that speaks for a number and an end user,
point-in-time answers, and the evidence a dispute asks for."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from faust.web import Request, Response, View

from optout.streams.app import app, config, delivery_result_serde
from optout.streams.rules.evidence import evidence, evidence_html
from optout.streams.rules.lookup_answers import lookup_answer
from optout.streams.topics import DELIVERY_RESULTS_TOPIC
from optout.tables.blocklist import current_consent
from optout.tables.client.topic_reader import read_end_user_partition
from optout.tables.history import number_history, state_at
from optout.tables.views.blocklist import refuse_or_route

__all__ = ["EvidenceView", "HistoryView", "accepted_confirmations", "parse_time"]


def parse_time(value: str) -> int:
    """Epoch ms from epoch ms or an ISO 8601 time (UTC when it names no zone)."""
    if value.isdigit():
        return int(value)
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@app.page("/v1/blocklist/{number}/{sender}/history")
class HistoryView(View):
    """GET every consent change that speaks for the number (in its scope, its own, scopes it
    left); with ?at=TIME, also whether the sender was blocked for it then, and why."""

    async def get(self, request: Request, number: str, sender: str) -> Response:
        refused_or_routed = await refuse_or_route(self, request, number, sender)
        if refused_or_routed is not None:
            return refused_or_routed
        events = number_history(number, sender)
        answer: dict[str, Any] = {"number": number, "sender": sender, "events": events}
        at = request.query.get("at")
        if at:
            try:
                answer["at"] = state_at(number, sender, parse_time(at)) | {"time": at}
            except ValueError:
                return self.json({"error": f"at={at!r} is not epoch ms or ISO 8601"}, status=400)
        return self.json(answer)


@app.page("/v1/blocklist/{number}/{sender}/evidence")
class EvidenceView(View):
    """GET everything a consent dispute asks for, as JSON, or with ?format=html as a printable
    page; open like the history unless lookups need a token. Reads the end user's partition of
    `delivery-results` for when the carrier accepted each confirmation, so it takes a moment on
    a long topic."""

    async def get(self, request: Request, number: str, sender: str) -> Response:
        refused_or_routed = await refuse_or_route(self, request, number, sender)
        if refused_or_routed is not None:
            return refused_or_routed
        answer = lookup_answer(number, sender, await current_consent(number, sender))
        events = number_history(number, sender)
        accepted = await accepted_confirmations(sender)
        found = evidence(number, sender, answer, events, accepted, int(time.time() * 1000))
        if request.query.get("format") == "html":
            return self.html(evidence_html(found))
        return self.json(found)


async def accepted_confirmations(end_user: str) -> dict[str, int]:
    """When the carrier accepted each reply to the end user: epoch ms by inbound message id."""
    records = await read_end_user_partition(config.broker_url, DELIVERY_RESULTS_TOPIC, end_user)
    accepted = {}
    for record in records:
        if record.key != end_user.encode():
            continue
        result = delivery_result_serde.decode(record.value)
        if result["kind"] == "REPLY" and result["outcome"] == "SENT":
            accepted[result["message_id"]] = result["attempted_at"]
    return accepted
