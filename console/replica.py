"""The operator console on a lookup replica (`optout lookups`): the same reading pages as a
worker's (console/reading.py), answered from the replica's own copy of the block list. The
history, the evidence, changes and the work queues are on the classify workers' console."""

from __future__ import annotations

from functools import partial
from typing import Any

from aiohttp import web

from optout.console import reading
from optout.console.pages import REPLICA_NAV
from optout.streams.rules.lookup_answers import lookup_answer
from optout.streams.web.openapi import REPLICA_PATHS, openapi_document
from optout.tables.client.blocklist_reader import BlocklistReader
from optout.tables.client.lookup_replica import READER

__all__ = ["ReplicaSource", "add_console"]


class ReplicaSource:
    """A replica's answers: every pair and number from its own copy; no history or settings."""

    nav = REPLICA_NAV

    def __init__(self, reader: BlocklistReader) -> None:
        self.reader = reader

    async def routed(self, request: web.Request, sender: str) -> web.Response | None:
        return None

    async def pair(self, number: str, sender: str) -> tuple[dict, list[dict] | None]:
        return lookup_answer(number, sender, self.reader.consent(number, sender)), None

    def blocked_senders(self, number: str, after: str | None, limit: int) -> list[dict]:
        return self.reader.blocked_senders(number, after, limit)

    def settings(self, number: str) -> dict[str, Any] | None:
        return None

    def all_blocked(self, number: str) -> tuple[str, list[dict]]:
        return self.reader.scope_of_number(number), self.reader.all_blocked_senders(number)


def add_console(app: web.Application) -> None:
    """The console's routes, answered from the replica's reader (`lookup_replica.READER`)."""
    source = ReplicaSource(app[READER])
    app.router.add_get("/console", partial(reading.home, source=source))
    app.router.add_get("/console/pair", partial(reading.pair, source=source))
    app.router.add_get("/console/number", partial(reading.number, source=source))
    app.router.add_get("/console/number.csv", partial(reading.number_csv, source=source))
    app.router.add_get("/console/static/{name}", reading.static)
    app.router.add_get("/openapi.json", _openapi)


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(REPLICA_PATHS))
