"""What a block-list lookup answers, shared by the workers and the lookup replicas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from optout.streams.rules.kinds import DEFAULT, Kinds, kind_problem
from optout.streams.rules.scopes import Consent
from optout.streams.rules.validate import is_e164

__all__ = ["MAX_BATCH", "iso", "lookup_answer", "pair_problem", "parse_batch", "parse_kind"]

MAX_BATCH = 1000
_NOT_A_PAIR = "must be an object with number and sender, both strings"


def lookup_answer(
    business_number: str,
    end_user_number: str,
    consent: Consent,
    kind: str | None = None,
    kinds: Kinds = DEFAULT,
) -> dict:
    """The JSON a send service gets: may `business_number` text `end_user_number` (a message of
    `kind`; None: any kind that needs consent, blocked if any is), in which consent scope, and
    where the deciding change came from (the number texted or named, keyword or manual, message
    or command id, time)."""
    entry = consent.entry
    since = entry["since"] if entry else None
    return {
        "number": business_number,
        "sender": end_user_number,
        "blocked": kinds.blocked(consent, kind),
        "kind": kind,
        "allowed_kinds": (entry.get("allowed_kinds") or []) if consent.blocked and entry else [],
        "scope": consent.scope,
        "since": iso(since),
        "since_ms": since,
        "texted": entry["business_number"] if entry else None,
        **{k: entry[k] if entry else None for k in ("keyword", "message_id", "source", "reason")},
        "opt_in": kinds.opt_in_for(consent, kind),
    }


def iso(epoch_ms: int | None) -> str | None:
    if epoch_ms is None:
        return None
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds")


def pair_problem(*numbers: str) -> str | None:
    """Why the numbers of a lookup or a hand-made change are not numbers (each shown with repr,
    so a newline or a space is visible), or None. Strict like every number (rules/validate.py):
    "+14155550100\\n" would be a key no STOP ever wrote, answered "not blocked"."""
    bad = [repr(n) for n in numbers if not is_e164(n)]
    if not bad:
        return None
    return f"invalid number: not an E.164 number like +12125550123: {', '.join(bad)}"


def parse_kind(value: Any) -> str | None:
    """A lookup's `kind` (a query parameter, or a batch's field): None when not given;
    ValueError with what is wrong."""
    if value is None:
        return None
    if not isinstance(value, str) or (problem := kind_problem(value)):
        raise ValueError(problem if isinstance(value, str) else "kind must be a string")
    return value


def parse_batch(body: Any) -> list[tuple[str, str]]:
    """The pairs of a decoded batch lookup body; ValueError with what is wrong."""
    items = body.get("pairs") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise ValueError('body must be {"pairs": [{"number": "+1...", "sender": "+1..."}, ...]}')
    if len(items) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} pairs per request, not {len(items)}")
    pairs = [_pair_of(item) for item in items]
    bad = [
        f"pairs[{n}]: {problem}"
        for n, pair in enumerate(pairs)
        if (problem := pair_problem(*pair) if pair else _NOT_A_PAIR)
    ]
    if bad:
        raise ValueError("; ".join(bad[:10]))
    return [pair for pair in pairs if pair]


def _pair_of(item: Any) -> tuple[str, str] | None:
    """An item's (number, sender) when both are strings: anything else is refused, not turned
    into a string that could be a number (`12125550100` is no E.164 number)."""
    if not isinstance(item, dict):
        return None
    number, sender = item.get("number"), item.get("sender")
    return (number, sender) if isinstance(number, str) and isinstance(sender, str) else None
