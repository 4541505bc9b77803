"""What the send gate does with one send: let it through, reject it, or hold it for quiet hours.

Pure: takes the send, the consent of its number for its end user (rules/scopes.py), the brand's
quiet hours and the time, and returns a GateVerdict; `send_result` makes the final record a send
service reads on `send-results`.
"""

from __future__ import annotations

from dataclasses import dataclass

from optout.schemas import Record
from optout.streams.rules.kinds import DEFAULT, Kinds
from optout.streams.rules.lookup_answers import iso
from optout.streams.rules.quiet_hours import next_opening, parse_window
from optout.streams.rules.scopes import Consent
from optout.streams.rules.validate import message_problems

__all__ = [
    "ALLOW",
    "GateVerdict",
    "HOLD",
    "REJECT",
    "gate_verdict",
    "no_opt_in_reason",
    "rejection_reason",
    "send_result",
]

ALLOW, REJECT, HOLD = "ALLOW", "REJECT", "HOLD"


@dataclass(frozen=True)
class GateVerdict:
    action: str  # ALLOW, REJECT or HOLD
    reason: str | None = None
    consent: Consent | None = None  # the opt-out behind a rejection
    until_ms: int | None = None  # when a held send may go


def gate_verdict(
    send: Record,
    consent: Consent,
    quiet_hours: str | None,
    now_ms: int,
    kinds: Kinds = DEFAULT,
) -> GateVerdict:
    """Reject a send that is not a message or whose end user opted out of its kind of message
    in its number's scope (rules/kinds.py); hold one outside the brand's quiet hours until they
    open; let the rest through."""
    problems = message_problems(send)
    if problems:
        return GateVerdict(REJECT, "invalid send: " + "; ".join(problems))
    kind = kinds.kind_of(send)
    if consent.blocked and consent.entry is not None:
        if kinds.blocked(consent, kind):
            reason = rejection_reason(send, consent)
            if consent.entry.get("allowed_kinds"):
                allowed = ", ".join(consent.entry["allowed_kinds"])
                reason += f"; it blocks {kind} messages and lets {allowed} through"
            return GateVerdict(REJECT, reason, consent)
    elif kinds.needs_opt_in(kind) and kinds.opt_in_for(consent, kind) is None:
        return GateVerdict(REJECT, no_opt_in_reason(send, kind, consent), consent)
    if quiet_hours:
        opens_at = next_opening(parse_window(quiet_hours), send["to_number"], now_ms)
        if opens_at is not None:
            reason = (
                f"outside quiet hours {quiet_hours} at the recipient; held until {iso(opens_at)}"
            )
            return GateVerdict(HOLD, reason, until_ms=opens_at)
    return GateVerdict(ALLOW)


def no_opt_in_reason(send: Record, kind: str, consent: Consent) -> str:
    return (
        f"{send['to_number']} has no recorded opt-in for {kind} messages in {consent.scope} "
        "(the brand sends marketing on recorded consent only)"
    )


def rejection_reason(send: Record, consent: Consent) -> str:
    entry = consent.entry or {}
    made_by = _MADE_BY.get(entry.get("source") or "", "a manual block")
    cause = entry.get("keyword") or f"{made_by} ({entry.get('reason')})"
    return (
        f"{send['to_number']} opted out of {consent.scope}: {cause} to "
        f"{entry.get('business_number')} at {iso(entry.get('since'))}"
    )


# What made a block that no keyword made, in a rejection's reason.
_MADE_BY = {
    "import": "an imported opt-out",
    "deactivation": "a deactivation",
    "carrier": "the carrier's answer to a send",
}


def send_result(
    send: Record,
    status: str,
    now_ms: int,
    reason: str | None = None,
    consent: Consent | None = None,
    attempts: int = 0,
    http_status: int | None = None,
    opt_in_id: str | None = None,
) -> Record:
    """The final SendResult of a send: SENT, REJECTED or FAILED; a send that needed a recorded
    opt-in names the one it relied on."""
    entry = consent.entry if consent else None
    return {
        "message_id": send["message_id"],
        "reference": send.get("reference"),
        "from_number": send["from_number"],
        "to_number": send["to_number"],
        "status": status,
        "reason": reason,
        "scope": consent.scope if consent else None,
        "blocked_by": entry["message_id"] if entry else None,
        "blocked_keyword": entry["keyword"] if entry else None,
        "blocked_since": entry["since"] if entry else None,
        "attempts": attempts,
        "http_status": http_status,
        "decided_at": now_ms,
        "opt_in_id": opt_in_id,
    }
