"""The audit history's HTTP API: every change of a pair, and point-in-time answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from faust.web import Request, Response, View

from optout.streams.app import app
from optout.tables.history import number_history, state_at
from optout.tables.views.blocklist import refuse_or_route

__all__ = ["HistoryView", "parse_time"]


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
