"""Bearer tokens for the HTTP API: management always needs one; lookups when configured so.

Reads also take the token from the console's `optout_token` cookie (set by its page script,
SameSite=Strict), so a browser can open reading pages and downloads; changes take it from the
Authorization header only, so no other site can make one with a visitor's cookie. An admin's
JSON body is checked once here for what no record can carry, so no view answers it with a 500."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import unquote

from optout.streams.config import config
from optout.streams.rules.validate import not_text_problem

__all__ = [
    "TOKEN_COOKIE",
    "BadBody",
    "Refused",
    "admin_caller",
    "admin_request",
    "check_lookup_allowed",
    "reading_refusal",
]

TOKEN_COOKIE = "optout_token"


class Refused(Exception):
    """A request without a valid token: answered 401 with the message."""

    status = 401


class BadBody(Refused):
    """An admin's JSON body that no record can carry (a lone surrogate such as "\\ud800", which
    JSON may escape but UTF-8, and so Avro, cannot encode): answered 400 with the reason, before
    a view tries to encode it and fails with a 500."""

    status = 400


def admin_caller(request: Any) -> str:
    """The name of the admin token the request carries; Refused when it carries none."""
    if not config.admin_tokens:
        raise Refused("management over HTTP is off: set OPTOUT_ADMIN_TOKENS to allow it")
    return _caller(request, config.admin_tokens)


async def admin_request(request: Any) -> tuple[str, Any]:
    """The admin caller's name and the request's JSON body (None when it has no JSON body, or
    one nested too deep to read); Refused when it carries no admin token, BadBody (400) when the
    body holds what is not text."""
    actor = admin_caller(request)
    try:
        body = await request.json()
    except (ValueError, RecursionError):
        return actor, None
    problem = not_text_problem(body)
    if problem:
        raise BadBody(problem)
    return actor, body


def check_lookup_allowed(request: Any) -> None:
    if config.lookups_need_token:
        tokens = config.lookup_tokens | config.admin_tokens
        cookie = unquote(request.cookies.get(TOKEN_COOKIE, ""))
        if not (cookie and _known(cookie, tokens)):
            _caller(request, tokens)


def reading_refusal(request: Any) -> str | None:
    """For a reading page: why it may not be shown (in words for a person), or None."""
    try:
        check_lookup_allowed(request)
    except Refused:
        return "Reading needs a token here: enter it in the Token field at the top, then reload."
    return None


def _caller(request: Any, tokens: dict[str, str]) -> str:
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    name = _known(given, tokens)
    if name is None:
        raise Refused("missing or wrong bearer token")
    return name


def _known(given: str, tokens: dict[str, str]) -> str | None:
    """The name of the token `given` is, or None."""
    for token, name in tokens.items():
        if hmac.compare_digest(given.encode(), token.encode()):
            return name
    return None
