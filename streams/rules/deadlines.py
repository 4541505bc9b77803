"""Compliance deadlines: an opt-out is confirmed within five minutes of the carrier receiving it
(CTIA; FCC 2024 order), measured to the carrier accepting the confirmation. Pure."""

from __future__ import annotations

from optout.schemas import Record

__all__ = ["CONFIRMATION_DEADLINE_SECONDS", "confirmation_alert"]

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
