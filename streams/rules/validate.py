"""Checks an inbound message must pass beyond its Avro schema before anything acts on it."""

from __future__ import annotations

import re

from optout.schemas import DecodeError, Record

__all__ = [
    "E164",
    "InvalidMessage",
    "MAX_MEDIA_URLS",
    "MAX_TEXT_CHARS",
    "is_e164",
    "message_problems",
    "validate_inbound",
]

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
MAX_TEXT_CHARS = 10_000  # concatenated SMS rarely exceed 1,600; anything larger is not a text
MAX_MEDIA_URLS = 10


class InvalidMessage(DecodeError):
    """A well-formed Avro record whose content is not a message the service can act on."""


def is_e164(number: str) -> bool:
    return bool(E164.match(number))


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
        if not is_e164(message[field]):
            problems.append(f"{field} {message[field]!r} is not an E.164 number like +12125550123")
    if message["channel"] == "SMS" and message["media_urls"]:
        problems.append("an SMS carries no media_urls; use channel MMS")
    if message["channel"] == "MMS" and not (message["media_urls"] or message["text"]):
        problems.append("an MMS carries neither text nor media_urls")
    if len(message["media_urls"]) > MAX_MEDIA_URLS:
        problems.append(f"more than {MAX_MEDIA_URLS} media_urls")
    if len(message["text"]) > MAX_TEXT_CHARS:
        problems.append(f"text is {len(message['text'])} characters, over {MAX_TEXT_CHARS}")
    return problems
