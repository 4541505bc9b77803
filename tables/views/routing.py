"""Where a request about one end user is answered.

Every consent answer about an end user comes from the worker that actively owns the end user's
partition of the block list (tables/blocklist.py: `current_consent`). Another worker forwards
the request once, marked with ROUTED_HEADER; the receiver answers itself, or says it cannot
(503), and never forwards again, so two workers with different views of the assignment cannot
bounce a request between them. When the answer is unknown (the owner is not reachable, the
partition is moving or being restored, the settings are not read yet) ConsentUnknown is raised,
and the caller gets 503 with Retry-After (streams/web/errors.py): never a guess.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from optout.streams.app import app, config
from optout.streams.exceptions import ConsentUnknown
from optout.tables.blocklist import blocklist
from optout.tables.keys import end_user_key

__all__ = ["ROUTED_HEADER", "at_owner", "owner_of", "owner_unavailable"]

ROUTED_HEADER = "X-OptOut-Routed"
# Request headers a forwarded request keeps: who is asking, and what they accept.
FORWARDED_HEADERS = ("Authorization", "Cookie", "Accept", "Content-Type")
# Headers of the owner's answer passed back (its content type and charset are set anew).
ANSWER_HEADERS = (
    "Retry-After",
    "Content-Security-Policy",
    "Content-Disposition",
    "Cache-Control",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
)


def owner_of(end_user: str) -> str | None:
    """The URL of the worker that owns the end user's partition, or None when it is this one;
    ConsentUnknown while partitions are being assigned."""
    try:
        owner = str(app.router.key_store(blocklist.name, end_user_key(end_user)))
    except KeyError:
        raise ConsentUnknown("partitions are being assigned; try again") from None
    return None if owner.rstrip("/") == config.canonical_url.rstrip("/") else owner


async def at_owner(request: web.Request, end_user: str) -> web.Response | None:
    """The owner's answer when another worker owns the end user's partition; None when this
    worker answers (it owns it, or the request was forwarded here already); ConsentUnknown when
    no owner can answer now."""
    if request.headers.get(ROUTED_HEADER):
        return None
    owner = owner_of(end_user)
    if owner is None:
        return None
    raw: Any = request
    headers = {name: raw.headers[name] for name in FORWARDED_HEADERS if name in raw.headers}
    body = await raw.read() if raw.can_read_body else None
    url = owner.rstrip("/") + str(raw.rel_url)
    try:
        async with app.http_client.request(
            raw.method, url, headers=headers | {ROUTED_HEADER: "1"}, data=body
        ) as response:
            kept = {h: response.headers[h] for h in ANSWER_HEADERS if h in response.headers}
            return web.Response(
                text=await response.text(),
                content_type=response.content_type,
                status=response.status,
                headers=kept,
            )
    except aiohttp.ClientError as exc:
        raise ConsentUnknown(owner_unavailable(exc)) from exc


def owner_unavailable(exc: Exception) -> str:
    return (
        f"the worker that owns the pair's partition does not answer ({type(exc).__name__}); "
        "its partitions move to another worker once its session times out: try again"
    )
