"""A read-only block-list lookup server: `optout lookups`.

It follows the block list's changelog into its own RocksDB copy (a BlocklistReader) and answers
the same lookups as the workers, `GET /v1/blocklist/{number}/{sender}` and
`POST /v1/blocklist/check`, without any stream processing in the same process (`optout lookups`
adds the operator console's reading pages, console/replica.py). Send services that need a steady
low latency ask replicas; run as many as the load needs. A replica trails the changelog by its
fetch wait (OPTOUT_LOOKUP_FETCH_WAIT_MS); `/healthz` is 200 once it has caught up and reports
its lag. Until then every answer is 503 with Retry-After (the copy raises ConsentUnknown), never
"not blocked".
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from optout.streams.rules.lookup_answers import (
    lookup_answer,
    pair_problem,
    parse_batch,
    parse_kind,
)
from optout.streams.web.auth import check_lookup_allowed
from optout.streams.web.errors import answer_refused_and_unknown
from optout.tables.client.blocklist_reader import BlocklistReader

__all__ = [
    "READER",
    "healthz",
    "lookup_app",
    "lookup_batch",
    "lookup_one",
    "serve",
]

log = logging.getLogger(__name__)
READER = web.AppKey("reader", BlocklistReader)


AddPages = Callable[[web.Application], None]  # more routes, answered from app[READER]


def lookup_app(reader: BlocklistReader, add_pages: AddPages | None = None) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024, middlewares=[answer_refused_and_unknown])
    app[READER] = reader
    app.router.add_get("/v1/blocklist/{number}/{sender}", lookup_one)
    app.router.add_post("/v1/blocklist/check", lookup_batch)
    app.router.add_get("/healthz", healthz)
    if add_pages is not None:
        add_pages(app)
    return app


async def lookup_one(request: web.Request) -> web.Response:
    number, sender = request.match_info["number"], request.match_info["sender"]
    if problem := pair_problem(number, sender):
        return web.json_response({"error": problem}, status=400)
    try:
        kind = parse_kind(request.query.get("kind"))
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    check_lookup_allowed(request)
    return web.json_response(_answer(request.app[READER], number, sender, kind))


async def lookup_batch(request: web.Request) -> web.Response:
    check_lookup_allowed(request)
    try:
        body = await request.json()
        pairs = parse_batch(body)
        kind = parse_kind(body.get("kind"))
    except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        return web.json_response({"error": str(exc)}, status=400)
    reader = request.app[READER]
    return web.json_response({"results": [_answer(reader, n, s, kind) for n, s in pairs]})


def _answer(reader: BlocklistReader, number: str, sender: str, kind: str | None) -> dict:
    return lookup_answer(number, sender, reader.consent(number, sender), kind, reader.kinds(number))


async def healthz(request: web.Request) -> web.Response:
    reader = request.app[READER]
    lag = sum(reader.lag().values())
    if reader.caught_up:
        return web.json_response({"status": "ready", "lag": lag})
    return web.json_response({"status": "catching up", "lag": lag}, status=503)


async def serve(
    bootstrap: str,
    data_dir: Path,
    host: str,
    port: int,
    fetch_wait_ms: int,
    schema_registry: str | None = None,
    add_pages: AddPages | None = None,
) -> None:
    """Follow the changelog and answer lookups (and any pages `add_pages` adds) until SIGINT or
    SIGTERM."""
    reader = BlocklistReader(bootstrap, data_dir, schema_registry, fetch_wait_ms)
    runner = web.AppRunner(lookup_app(reader, add_pages), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("block-list lookups on http://%s:%s (copy in %s)", host, port, data_dir)
    following = asyncio.ensure_future(reader.run())
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, following.cancel)
    try:
        await following
    except asyncio.CancelledError:
        log.info("stopping block-list lookups")
    finally:
        await runner.cleanup()
        reader.close()
