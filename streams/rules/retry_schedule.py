"""What to do after an HTTP delivery attempt: done, try again later, or give up. Pure."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum

__all__ = [
    "AttemptOutcome",
    "JITTER",
    "MAX_RETRY_AFTER_SECONDS",
    "Verdict",
    "error_code",
    "outcome_for_status",
    "parse_retry_after",
    "retry_delay",
    "retry_tier",
]

MAX_RETRY_AFTER_SECONDS = 3600.0
JITTER = 0.2  # each delay is drawn from +-20% of the nominal one


class Verdict(StrEnum):
    SENT = "SENT"
    RETRY = "RETRY"  # a transient failure: 5xx, 408, 429, timeout, network error
    PERMANENT = "PERMANENT"  # the request itself is wrong: other 4xx, redirects, refused URL


@dataclass(frozen=True)
class AttemptOutcome:
    verdict: Verdict
    http_status: int | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds the server asked us to wait
    code: str | None = None  # the error code of a refusal's JSON body ("code" or "error_code")


def outcome_for_status(
    status: int, body: str, retry_after: str | None, now: float
) -> AttemptOutcome:
    """Judge an HTTP answer."""
    if 200 <= status < 300:
        return AttemptOutcome(Verdict.SENT, status)
    error = f"HTTP {status}: {body[:300]}".rstrip(": ")
    if status in (408, 429) or status >= 500:
        return AttemptOutcome(Verdict.RETRY, status, error, parse_retry_after(retry_after, now))
    if 300 <= status < 400:
        return AttemptOutcome(
            Verdict.PERMANENT, status, f"HTTP {status}: redirects are not followed"
        )
    return AttemptOutcome(Verdict.PERMANENT, status, error, code=error_code(body))


def error_code(body: str) -> str | None:
    """The error code a carrier's refusal carries, as text: `code` or `error_code` of a JSON
    object (Twilio, Telnyx and others answer so), or of the first of its `errors`."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    if isinstance(answer, dict) and isinstance(answer.get("errors"), list) and answer["errors"]:
        answer = answer["errors"][0]
    if not isinstance(answer, dict):
        return None
    code = answer.get("code", answer.get("error_code"))
    return str(code) if isinstance(code, (int, str)) and not isinstance(code, bool) else None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), capped at an hour."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def retry_delay(
    attempt: int, delays: tuple[float, ...], retry_after: float | None, rng: random.Random
) -> float:
    """Seconds before the next attempt after `attempt` failed: exponential tiers with jitter,
    never sooner than the server's Retry-After."""
    nominal = delays[min(attempt, len(delays)) - 1]
    jittered = nominal * rng.uniform(1 - JITTER, 1 + JITTER)
    return max(jittered, retry_after or 0.0)


def retry_tier(delay: float, delays: tuple[float, ...]) -> int:
    """The retry topic (1-based) for a delay: the first tier at least that long, else the last.
    Within a tier every record waits about as long, so the topic stays in due-time order."""
    for tier, nominal in enumerate(delays, start=1):
        if delay <= nominal * (1 + JITTER):
            return tier
    return len(delays)
