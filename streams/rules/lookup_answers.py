"""What a block-list lookup answers, shared by the workers and the lookup replicas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from optout.streams.rules.scopes import Consent
from optout.streams.rules.validate import is_e164

__all__ = ["MAX_BATCH", "iso", "lookup_answer", "pair_problem", "parse_batch"]

MAX_BATCH = 1000


def lookup_answer(business_number: str, end_user_number: str, consent: Consent) -> dict:
    """The JSON a send service gets: may `business_number` text `end_user_number`, in which
    consent scope, and where the deciding change came from (the number texted or named, keyword
    or manual, message or command id, time)."""
    entry = consent.entry
    since = entry["since"] if entry else None
    return {
        "number": business_number,
        "sender": end_user_number,
        "blocked": consent.blocked,
        "scope": consent.scope,
        "since": iso(since),
        "since_ms": since,
        "texted": entry["business_number"] if entry else None,
        **{k: entry[k] if entry else None for k in ("keyword", "message_id", "source", "reason")},
    }


def iso(epoch_ms: int | None) -> str | None:
    if epoch_ms is None:
        return None
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds")


def pair_problem(*numbers: str) -> str | None:
    bad = [n for n in numbers if not is_e164(n)]
    return f"not an E.164 number like +12125550123: {', '.join(bad)}" if bad else None


def parse_batch(body: Any) -> list[tuple[str, str]]:
    """The pairs of a decoded batch lookup body; ValueError with what is wrong."""
    items = body.get("pairs") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise ValueError('body must be {"pairs": [{"number": "+1...", "sender": "+1..."}, ...]}')
    if len(items) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} pairs per request, not {len(items)}")
    pairs = [
        (str(i.get("number", "")), str(i.get("sender", ""))) for i in items if isinstance(i, dict)
    ]
    if len(pairs) != len(items):
        raise ValueError("every pair must be an object with number and sender")
    bad = [f"pairs[{n}]: {p}" for n, pair in enumerate(pairs) if (p := pair_problem(*pair))]
    if bad:
        raise ValueError("; ".join(bad[:10]))
    return pairs
