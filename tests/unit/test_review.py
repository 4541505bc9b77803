"""Review deadlines in business days (streams/rules/review.py), with each country's holidays."""

from __future__ import annotations

from datetime import UTC, datetime

from optout.streams.rules.review import business_deadline, resolved, review_item


def at(iso: str) -> int:
    return int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp() * 1000)


def test_ten_business_days_skip_weekends_and_us_holidays() -> None:
    # From Friday 20 November 2026: Thanksgiving (26th) is skipped, the day after is not.
    due = business_deadline(at("2026-11-20T15:00"), "+12125550100")
    assert due == at("2026-12-07T23:59:59.999")


def test_each_country_counts_its_own_holidays() -> None:
    # Presidents' Day (Monday 16 February 2026) is a US federal holiday, not a Canadian one.
    canadian = business_deadline(at("2026-02-09T12:00"), "+14165550100")
    american = business_deadline(at("2026-02-09T12:00"), "+12125550100")
    assert canadian == at("2026-02-23T23:59:59.999")
    assert american == at("2026-02-24T23:59:59.999")


def test_resolving_records_who_and_why() -> None:
    message = {
        "message_id": "m-1", "from_number": "+14155550100", "to_number": "+12125550100",
        "text": "leave me alone", "received_at": at("2026-12-01T10:00"),
    }  # fmt: skip
    item = review_item(message, "unclear_revocation")
    assert item["status"] == "OPEN" and item["due_at"] == at("2026-12-15T23:59:59.999")
    done = resolved(item, "opt_out", "asked to be left alone", "support", 5)
    assert (done["status"], done["resolved_by"], done["resolved_at"]) == ("OPTED_OUT", "support", 5)
