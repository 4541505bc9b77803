"""Checks an inbound message must pass beyond its Avro schema before anything acts on it, and
the one rule for what a phone number is, wherever a number enters the service.

A number is E.164 and nothing else: "+", a first digit 1-9, then 6 to 14 more ASCII digits,
with nothing before or after it. Nothing is trimmed or normalised: a number with a trailing
newline, a space, or other scripts' digits ("+１２１２...", "+١٢١٢...") is refused with the
reason, never read as a different key here and kept as it came in elsewhere (a send to
"+14155550100\\n" would otherwise be gated against an entry no STOP ever wrote).
"""

from __future__ import annotations

import json
import re
from typing import Any

from optout.schemas import DecodeError, Record
from optout.streams.rules.scopes import ALL_NUMBERS, SCOPE_KINDS, id_problem

__all__ = [
    "E164",
    "InvalidMessage",
    "MAX_MEDIA_URLS",
    "MAX_TEXT_CHARS",
    "command_problems",
    "is_e164",
    "message_problems",
    "not_text_problem",
    "number_problem",
    "validate_inbound",
]

# \A and \Z, not ^ and $: `$` also matches before a trailing newline, and [0-9], not \d, which
# matches every script's digits. Strict with match, search and fullmatch alike.
E164 = re.compile(r"\A\+[1-9][0-9]{6,14}\Z")
MAX_TEXT_CHARS = 10_000  # concatenated SMS rarely exceed 1,600; anything larger is not a text
MAX_MEDIA_URLS = 10


class InvalidMessage(DecodeError):
    """A well-formed Avro record whose content is not a message the service can act on."""


def is_e164(number: object) -> bool:
    """Whether `number` is a string that is an E.164 number and nothing more."""
    return isinstance(number, str) and E164.fullmatch(number) is not None


def number_problem(name: str, number: object) -> str | None:
    """Why the number in `name` is not one (its value shown with repr, so a newline or a space
    is visible), or None when it is."""
    if is_e164(number):
        return None
    return f"invalid number: {name} {number!r} is not an E.164 number like +12125550123"


def validate_inbound(message: Record) -> None:
    """Raise InvalidMessage with a reason a person can act on, or return for a valid message."""
    problems = message_problems(message)
    if problems:
        raise InvalidMessage("invalid inbound message: " + "; ".join(problems))


def message_problems(message: Record) -> list[str]:
    """Why an inbound or outbound message is not one the service can act on (empty: it is)."""
    problems = []
    if not message["message_id"].strip():
        problems.append("message_id is empty")
    for field in ("from_number", "to_number"):
        if problem := number_problem(field, message[field]):
            problems.append(problem)
    if message["channel"] == "SMS" and message["media_urls"]:
        problems.append("an SMS carries no media_urls; use channel MMS")
    if message["channel"] == "MMS" and not (message["media_urls"] or message["text"]):
        problems.append("an MMS carries neither text nor media_urls")
    if len(message["media_urls"]) > MAX_MEDIA_URLS:
        problems.append(f"more than {MAX_MEDIA_URLS} media_urls")
    if len(message["text"]) > MAX_TEXT_CHARS:
        problems.append(f"text is {len(message['text'])} characters, over {MAX_TEXT_CHARS}")
    return problems


def command_problems(command: Record) -> list[str]:
    """Why a block-list command (decoded, so typed) may not be applied: its numbers, and the
    scope it names when it names one (empty: it may)."""
    scope = command.get("scope")
    named = (
        ("end_user_number",)
        if scope and not command["business_number"]
        else ("business_number", "end_user_number")
    )  # a change to a scope may name no number
    problems = [problem for field in named if (problem := number_problem(field, command[field]))]
    if scope == ALL_NUMBERS:  # the scope of every number: only a deactivation blocks there
        if command.get("source") != "deactivation" or command["action"] != "OPT_OUT":
            problems.append("only a deactivation changes the scope of every number (all)")
    elif scope:
        kind, _, ident = scope.partition(":")
        if kind not in SCOPE_KINDS:
            problems.append(f"scope {scope!r} is not number:, campaign: or brand: and an id")
        elif kind == "number":
            if problem := number_problem("scope number", ident):
                problems.append(problem)
        elif problem := id_problem(f"scope {kind} id", ident):
            problems.append(problem)
    return problems


def not_text_problem(body: Any) -> str | None:
    """Why a decoded JSON body holds something no record can carry: a lone surrogate
    ("\\ud800"), which JSON may escape but UTF-8 (and so Avro) cannot encode; None otherwise."""
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"the body holds {exc.object[exc.start : exc.end]!r}, a lone surrogate: not text"
    except (TypeError, ValueError, RecursionError):
        return "the body is not plain JSON"
    return None
