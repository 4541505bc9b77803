"""What a TCPA dispute asks for, for one end user and one business number: every consent change
that speaks for the number (with the message's text, the rule and ruleset that read it, the
confirmation and when the carrier accepted it, manual changes with actor and reason, the scope),
as JSON and as a printable page. Pure."""

from __future__ import annotations

import html
from typing import Any

from optout.schemas import Record
from optout.streams.rules.lookup_answers import iso

__all__ = ["COLUMNS", "evidence", "evidence_html", "opt_in_text", "spreadsheet_safe"]

# The printable page's columns: field of a change, and its heading.

COLUMNS = {
    "occurred": "changed at",
    "action": "change",
    "kinds_changed": "kinds of message",
    "answered": "answering the send",
    "scope": "scope",
    "texted": "number texted",
    "source": "source",
    "message_id": "message or command",
    "received": "received at",
    "text": "text",
    "keyword": "keyword",
    "rule": "rule",
    "ruleset": "ruleset",
    "confirmation": "confirmation",
    "confirmation_accepted": "carrier accepted",
    "actor": "actor",
    "reason": "reason",
    "opt_in_record": "opt-in record",
    "origin": "from",
}


def evidence(
    number: str,
    sender: str,
    answer: dict,
    events: list[Record],
    accepted: dict[str, int],
    now_ms: int,
) -> dict[str, Any]:
    """The evidence record: the lookup answer now, and each change with its confirmation's
    acceptance by the carrier (`accepted`: epoch ms by message id)."""
    changes = [
        event | {
            "texted": event["business_number"],
            "received": iso(event["received_at"]),
            "occurred": iso(event["occurred_at"]),
            "confirmation_accepted": iso(accepted.get(event["message_id"] or "")),
            "kinds_changed": ", ".join(event.get("kinds") or ()) or "all",
            "answered": _answered(event),
            "opt_in_record": opt_in_text(event.get("opt_in")),
        }
        for event in events
    ]  # fmt: skip
    return {
        "number": number,
        "sender": sender,
        "now": answer,
        "changes": changes,
        "generated_at": iso(now_ms),
    }


def opt_in_text(opt_in: Record | None) -> str | None:
    """A recorded opt-in in words: how and when it was given, to which kinds, what was shown."""
    if not opt_in:
        return None
    parts = [f"{opt_in['method']} at {iso(opt_in['given_at'])}",
             f"kinds: {', '.join(opt_in['kinds']) or 'all'}"]  # fmt: skip
    if opt_in.get("disclosure_text"):
        version = opt_in.get("disclosure_version")
        parts.append(f"disclosure{f' {version}' if version else ''}: {opt_in['disclosure_text']}")
    for field, name in (("page", "page"), ("client_address", "client address")):
        if opt_in.get(field):
            parts.append(f"{name}: {opt_in[field]}")
    parts.append(f"id {opt_in['opt_in_id']}")
    return "; ".join(parts)


def _answered(event: Record) -> str | None:
    """The send a STOP answered, and its kind (what decided the kinds it blocked)."""
    if not event.get("answered_send"):
        return None
    return f"{event['answered_send']} ({event.get('answered_kind') or 'kind unknown'})"


def evidence_html(found: dict[str, Any]) -> str:
    """The evidence as one printable page (no script, nothing loaded from elsewhere)."""
    now = found["now"]
    state = "blocked" if now["blocked"] else "not blocked"
    if now["blocked"] and now.get("allowed_kinds"):
        state += f" except for {', '.join(now['allowed_kinds'])} messages"
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c.get(k) or ''))}</td>" for k in COLUMNS) + "</tr>"
        for c in found["changes"]
    )
    heads = "".join(f"<th>{html.escape(label)}</th>" for label in COLUMNS.values())
    relied = opt_in_text(now.get("opt_in"))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Consent evidence: {html.escape(found['sender'])} and "
        f"{html.escape(found['number'])}</title><style>"
        "body{font:11pt/1.4 system-ui,sans-serif;margin:1.5rem}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:.3rem;vertical-align:top;text-align:left}"
        "</style></head><body>"
        f"<h1>Consent evidence</h1><p>End user {html.escape(found['sender'])}, business number "
        f"{html.escape(found['number'])}: <strong>{state}</strong> in scope "
        f"{html.escape(now['scope'])} (generated {html.escape(found['generated_at'])}).</p>"
        + (f"<p>Sends rely on the recorded opt-in: {html.escape(relied)}</p>" if relied else "")
        + f"<table><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table></body></html>"
    )


def spreadsheet_safe(value: str | None) -> str:
    """Free text for a CSV cell that a spreadsheet will not run as a formula."""
    text = value or ""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text
