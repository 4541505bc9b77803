"""The five-minute confirmation deadline (streams/rules/deadlines.py)."""

from __future__ import annotations

from optout.streams.rules.deadlines import confirmation_alert, review_overdue_alert

RECEIVED = 1_790_000_000_000


def reply(intent: str = "OPT_OUT") -> dict:
    return {
        "reply_id": "m-1:reply", "in_reply_to": "m-1", "from_number": "+16175550100",
        "to_number": "+12535550100", "intent": intent, "received_at": RECEIVED,
    }  # fmt: skip


def test_a_confirmation_accepted_within_five_minutes_raises_nothing() -> None:
    assert confirmation_alert(reply(), RECEIVED + 300_000, False, RECEIVED + 300_000) is None


def test_a_confirmation_accepted_late_is_an_alert_with_how_long_it_took() -> None:
    alert = confirmation_alert(reply(), RECEIVED + 301_500, False, RECEIVED + 301_600)
    assert alert is not None and alert["kind"] == "CONFIRMATION_LATE"
    assert alert["took_seconds"] == 301.5 and alert["alert_id"] == "m-1:reply:CONFIRMATION_LATE"


def test_a_confirmation_given_up_is_an_alert_whenever_it_happens() -> None:
    alert = confirmation_alert(reply(), None, True, RECEIVED + 60_000)
    assert alert is not None and alert["kind"] == "CONFIRMATION_FAILED"
    assert confirmation_alert(reply(), None, False, RECEIVED + 900_000) is None  # still retrying


def test_other_replies_have_no_deadline_here() -> None:
    assert confirmation_alert(reply("HELP"), RECEIVED + 900_000, False, RECEIVED + 900_000) is None


def test_an_open_review_item_past_its_deadline_is_an_alert_once_it_is_due() -> None:
    item = {
        "review_id": "m-2", "status": "OPEN", "message_id": "m-2",
        "business_number": "+16175550100", "end_user_number": "+12535550100",
        "received_at": RECEIVED, "due_at": RECEIVED + 86_400_000,
    }  # fmt: skip
    assert review_overdue_alert(item, RECEIVED + 86_400_000) is None
    alert = review_overdue_alert(item, RECEIVED + 86_400_001)
    assert alert is not None and alert["kind"] == "REVIEW_OVERDUE"
    assert alert["deadline_seconds"] == 86_400 and alert["alert_id"] == "m-2:REVIEW_OVERDUE"
    assert review_overdue_alert(item | {"status": "DISMISSED"}, RECEIVED + 10**10) is None
