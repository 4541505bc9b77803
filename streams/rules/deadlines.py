"""Compliance deadlines: an opt-out is confirmed within five minutes of the carrier receiving it
(CTIA; FCC 2024 order), measured to the carrier accepting the confirmation; a message flagged
for review is decided within ten business days (rules/review.py). Pure."""

from __future__ import annotations

from optout.schemas import Record

__all__ = ["CONFIRMATION_DEADLINE_SECONDS", "confirmation_alert", "review_overdue_alert"]

CONFIRMATION_DEADLINE_SECONDS = 300


def confirmation_alert(
    reply: Record, accepted_at_ms: int | None, gave_up: bool, now_ms: int
) -> Record | None:
    """The alert an opt-out confirmation calls for: accepted after the deadline, or never
    accepted (its delivery gave up); None for any other reply, or one on time."""
    if reply["intent"] != "OPT_OUT" or (accepted_at_ms is None and not gave_up):
        return None
    took = ((accepted_at_ms or now_ms) - reply["received_at"]) / 1000
    if accepted_at_ms is not None and took <= CONFIRMATION_DEADLINE_SECONDS:
        return None
    kind = "CONFIRMATION_FAILED" if accepted_at_ms is None else "CONFIRMATION_LATE"
    return {
        "alert_id": f"{reply['reply_id']}:{kind}",
        "kind": kind,
        "message_id": reply["in_reply_to"],
        "business_number": reply["from_number"],
        "end_user_number": reply["to_number"],
        "deadline_seconds": CONFIRMATION_DEADLINE_SECONDS,
        "took_seconds": took,
        "occurred_at": now_ms,
    }


def review_overdue_alert(item: Record, now_ms: int) -> Record | None:
    """The alert an open review item past its deadline calls for; None otherwise."""
    if item["status"] != "OPEN" or now_ms <= item["due_at"]:
        return None
    return {
        "alert_id": f"{item['review_id']}:REVIEW_OVERDUE",
        "kind": "REVIEW_OVERDUE",
        "message_id": item["message_id"],
        "business_number": item["business_number"],
        "end_user_number": item["end_user_number"],
        "deadline_seconds": int((item["due_at"] - item["received_at"]) / 1000),
        "took_seconds": (now_ms - item["received_at"]) / 1000,
        "occurred_at": now_ms,
    }
