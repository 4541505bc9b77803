"""Quiet hours: a brand's window of the recipient's local time in which sends may go out.

Pure. The recipient's time zones come from the number (the `phonenumbers` package). A number
in one zone is judged by that zone. A number that maps to several (toll-free and other
non-geographic numbers map to dozens) is judged by every one of them from Newfoundland to
Hawaii, which covers every state and province: the window must be open in all of them at
once. Guam, the Northern Marianas and American Samoa are left out of that set, since no window
is open everywhere from UTC+10 to UTC-11 at once; their own numbers map to their own zone.
A number of a US territory (regions.py) is judged by its territory's zone, from its area code
(America/Puerto_Rico, America/St_Thomas, Pacific/Guam, Pacific/Saipan, Pacific/Pago_Pago), also
when `phonenumbers` does not know the line as valid (American Samoa's 555 lines): such a number
would otherwise be judged by every zone from Newfoundland to Hawaii, up to 7.5 hours ahead.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as number_zones

from optout.streams.rules.regions import in_us_territory

__all__ = ["Window", "next_opening", "parse_window", "recipient_zones", "window_problem"]

_WINDOW = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])")
_FAR_TERRITORIES = {"Pacific/Guam", "Pacific/Saipan", "Pacific/Pago_Pago"}
_NORTH_AMERICA = "+18005550100"  # a toll-free number: mapped to every zone of the plan
_STEP = timedelta(minutes=5)
_LOOK_AHEAD = timedelta(days=2)

Window = tuple[time, time]


def window_problem(text: str) -> str | None:
    """Why `text` is not a window like '08:00-21:00' (start before end, 24-hour clock), or None.
    Nothing around it: '08:00-21:00\\n' stored would fail every send of the brand at the gate."""
    match = _WINDOW.fullmatch(text)
    if not match:
        return f"quiet_hours {text!r} is not a window like 08:00-21:00"
    start, end = parse_window(text)
    if start >= end:
        return f"quiet_hours {text!r} must start before it ends, within one day"
    return None


def parse_window(text: str) -> Window:
    start, end = text.split("-")
    return time.fromisoformat(start), (time.max if end == "24:00" else time.fromisoformat(end))


@lru_cache(maxsize=65536)
def recipient_zones(number: str) -> tuple[ZoneInfo, ...]:
    """The zones a send to `number` is judged by (the rule in the module docstring)."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        names: tuple[str, ...] = ()
    else:
        names = (
            number_zones.time_zones_for_geographical_number(parsed)
            if in_us_territory(number)
            else number_zones.time_zones_for_number(parsed)
        )
    names = tuple(n for n in names if n != "Etc/Unknown")
    if len(names) != 1:
        names = tuple(n for n in _all_zones() if n not in _FAR_TERRITORIES)
    return tuple(ZoneInfo(n) for n in names)


@lru_cache(maxsize=1)
def _all_zones() -> tuple[str, ...]:
    return tuple(number_zones.time_zones_for_number(phonenumbers.parse(_NORTH_AMERICA)))


def is_open(window: Window, zones: tuple[ZoneInfo, ...], at: datetime) -> bool:
    start, end = window
    return all(start <= at.astimezone(zone).time() <= end for zone in zones)


def next_opening(window: Window, number: str, now_ms: int) -> int | None:
    """None when a send to `number` may go now; else when it may (epoch ms), the first moment
    the window is open in all its zones (on a five-minute step)."""
    zones = recipient_zones(number)
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    if is_open(window, zones, now):
        return None
    moment = now.replace(second=0, microsecond=0) + _STEP - timedelta(minutes=now.minute % 5)
    while moment < now + _LOOK_AHEAD:
        if is_open(window, zones, moment):
            return int(moment.timestamp() * 1000)
        moment += _STEP
    raise ValueError(f"quiet hours {window} never open for {number} within two days")
