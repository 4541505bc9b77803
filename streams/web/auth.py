"""Bearer tokens for the HTTP API: management always needs one; lookups when configured so."""

from __future__ import annotations

import hmac
from typing import Any

from optout.streams.config import config

__all__ = ["Refused", "admin_caller", "admin_request", "check_lookup_allowed"]


class Refused(Exception):
    """A request without a valid token: answered 401 with the message."""

    status = 401


def admin_caller(request: Any) -> str:
    """The name of the admin token the request carries; Refused when it carries none."""
    if not config.admin_tokens:
        raise Refused("management over HTTP is off: set OPTOUT_ADMIN_TOKENS to allow it")
    return _caller(request, config.admin_tokens)


async def admin_request(request: Any) -> tuple[str, Any]:
    """The admin caller's name and the request's JSON body (None when it has no JSON body);
    Refused when it carries no admin token."""
    actor = admin_caller(request)
    try:
        return actor, await request.json()
    except ValueError:
        return actor, None


def check_lookup_allowed(request: Any) -> None:
    if config.lookups_need_token:
        _caller(request, config.lookup_tokens | config.admin_tokens)


def _caller(request: Any, tokens: dict[str, str]) -> str:
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip().encode()
    for token, name in tokens.items():
        if hmac.compare_digest(given, token.encode()):
            return name
    raise Refused("missing or wrong bearer token")
