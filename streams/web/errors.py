"""What every HTTP server of the service (a worker's, a lookup replica's) answers for a request a
handler refuses or cannot answer, in one place: a missing or wrong token (`Refused`: 401, or 400
for a body no record can carry) and a consent answer unknown now (`ConsentUnknown`: 503 with
Retry-After, never "not blocked"). Handlers raise; this middleware answers in JSON. Console pages
that answer a person in HTML catch these themselves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from optout.streams.exceptions import RETRY_AFTER_SECONDS, ConsentUnknown
from optout.streams.web.auth import Refused

__all__ = ["answer_refused_and_unknown"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def answer_refused_and_unknown(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Refused as refused:
        return web.json_response({"error": str(refused)}, status=refused.status)
    except ConsentUnknown as exc:
        return web.json_response(
            {"error": str(exc)}, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        )
