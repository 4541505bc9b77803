"""Messages flagged for review: their deadline, and what resolving them records. Pure.

A request to revoke consent made in words the classifier cannot take for certain ("I'll stop
by", "leave me alone") must still be honoured within ten business days (FCC 2024 order; CASL).
Business days skip weekends and the holidays of the number's country (the `holidays` package:
US federal holidays, Canadian national ones).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import holidays

from optout.schemas import Record
from optout.streams.rules.regions import is_canadian

__all__ = ["BUSINESS_DAYS", "RESOLUTIONS", "business_deadline", "resolved", "review_item"]

BUSINESS_DAYS = 10
RESOLUTIONS = {"opt_out": "OPTED_OUT", "dismiss": "DISMISSED"}


@lru_cache(maxsize=8)
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


def _business_day(day: date, country: str) -> bool:
    return day.weekday() < 5 and day not in _holidays(country, day.year)


def business_deadline(received_at_ms: int, business_number: str) -> int:
    """The end of the tenth business day after the day the carrier received the message (UTC
    days), in the number's country, epoch ms."""
    country = "CA" if is_canadian(business_number) else "US"
    day = datetime.fromtimestamp(received_at_ms / 1000, UTC).date()
    counted = 0
    while counted < BUSINESS_DAYS:
        day += timedelta(days=1)
        counted += _business_day(day, country)
    end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    return int(end.timestamp() * 1000) - 1


def review_item(message: Record, rule: str) -> Record:
    """The open review item of a flagged inbound message."""
    return {
        "review_id": message["message_id"],
        "status": "OPEN",
        "message_id": message["message_id"],
        "business_number": message["to_number"],
        "end_user_number": message["from_number"],
        "text": message["text"],
        "rule": rule,
        "received_at": message["received_at"],
        "due_at": business_deadline(message["received_at"], message["to_number"]),
        "resolved_at": None,
        "resolved_by": None,
        "reason": None,
    }


def resolved(item: Record, resolution: str, reason: str, actor: str, now_ms: int) -> Record:
    """The item after a person decided (`opt_out` or `dismiss`)."""
    return item | {
        "status": RESOLUTIONS[resolution],
        "resolved_at": now_ms,
        "resolved_by": actor,
        "reason": reason,
    }
