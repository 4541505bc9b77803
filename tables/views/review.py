"""The review queue over HTTP (admin token): list the open items, decide one; and its deadline
watched.

Deciding `opt_out` blocks the end user in the number's consent scope like a manual change (a
block-list command, source `review`); `dismiss` closes the item. Either way the decision, who
made it and why, is the item's new state on `consent-review`. An item still open after its
deadline publishes one alert on `compliance-alerts`, from the worker that holds the end user's
partition (alerts already raised are not raised again by that worker; after a restart an alert
can repeat, with the same id).
"""

from __future__ import annotations

import time
import uuid

from faust.types import TP
from faust.web import Request, Response, View

from optout.streams.app import (
    app,
    compliance_alert_serde,
    compliance_alerts_topic,
    config,
    consent_review_topic,
    review_serde,
)
from optout.streams.metrics import COMPLIANCE_ALERTS
from optout.streams.rules.deadlines import review_overdue_alert
from optout.streams.rules.partitioning import end_user_partition
from optout.streams.rules.review import RESOLUTIONS, resolved
from optout.streams.rules.scopes import current_scope
from optout.streams.runtime.assignment import assignment
from optout.streams.topics import INBOUND_TOPIC
from optout.streams.web.auth import admin_caller, admin_request
from optout.tables.blocklist import blocklist_commands_topic, command_serde
from optout.tables.keys import end_user_key
from optout.tables.review import open_items, review_items
from optout.tables.settings import settings_for

__all__ = ["ReviewItemView", "ReviewListView", "alerted", "alert_overdue_reviews"]

alerted: set[str] = set()  # alert ids this worker has published


@app.timer(config.review_watch_s)
async def alert_overdue_reviews() -> None:
    now_ms = int(time.time() * 1000)
    mine = assignment.assigned()
    for item in open_items(now_ms, overdue_only=True):
        alert = review_overdue_alert(item, now_ms)
        partition = end_user_partition(item["end_user_number"], config.partitions)
        if (
            alert is None
            or alert["alert_id"] in alerted
            or TP(INBOUND_TOPIC, partition) not in mine
        ):
            continue
        COMPLIANCE_ALERTS.labels(alert["kind"]).inc()
        sent = await compliance_alerts_topic.send(
            key=item["end_user_number"].encode(), value=compliance_alert_serde.encode(alert)
        )
        await sent
        alerted.add(alert["alert_id"])


@app.page("/v1/review")
class ReviewListView(View):
    """GET the open items, the soonest due first (?overdue=1: only those past their deadline)."""

    async def get(self, request: Request) -> Response:
        admin_caller(request)
        items = open_items(overdue_only=request.query.get("overdue") == "1")
        return self.json({"open": items, "count": len(items)})


@app.page("/v1/review/{review_id}")
class ReviewItemView(View):
    """POST {"resolution": "opt_out" | "dismiss", "reason": "..."}: decide an open item."""

    async def post(self, request: Request, review_id: str) -> Response:
        actor, body = await admin_request(request)
        item = review_items.get(review_id.encode())
        if item is None or item["status"] != "OPEN":
            return self.json({"error": f"no open review item {review_id!r}"}, status=404)
        resolution = body.get("resolution") if isinstance(body, dict) else None
        reason = body.get("reason") if isinstance(body, dict) else None
        if resolution not in RESOLUTIONS or not isinstance(reason, str) or not reason.strip():
            return self.json(
                {"error": 'body must be {"resolution": "opt_out" or "dismiss", "reason": "..."}'},
                status=400,
            )
        now_ms = int(time.time() * 1000)
        if resolution == "opt_out":
            await _block(item, reason.strip(), actor, now_ms)
        decided = resolved(item, resolution, reason.strip(), actor, now_ms)
        sent = await consent_review_topic.send(
            key=review_id.encode(), value=review_serde.encode(decided)
        )
        await sent
        return self.json(decided)


async def _block(item: dict, reason: str, actor: str, now_ms: int) -> None:
    command = {
        "command_id": f"review-{uuid.uuid4()}",
        "action": "OPT_OUT",
        "business_number": item["business_number"],
        "end_user_number": item["end_user_number"],
        "scope": current_scope(settings_for(item["business_number"])),
        "reason": f"review of {item['message_id']} ({item['text']!r}): {reason}",
        "actor": actor,
        "source": "review",
        "requested_at": now_ms,
    }
    sent = await blocklist_commands_topic.send(
        key=end_user_key(item["end_user_number"]), value=command_serde.encode(command)
    )
    await sent
