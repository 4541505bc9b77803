"""The operator console on a classify worker: `/console` and its pages (console/pages.py).

Reading pages follow the lookup setting: open unless lookups need a token (the console's token
cookie counts). A pair's page is rendered by the worker that owns the end user's partition,
where the pair's entries and history are; others forward the request, as they do lookups.
Changes are made by the page's script through the HTTP API, with an admin token.
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

from aiohttp import web
from faust.web import Request, View

from optout.console import reading
from optout.console.pages import (
    WORKER_NAV,
    brand_form,
    brand_page,
    figures_page,
    figures_section,
    message_page,
    page,
    queues_page,
)
from optout.streams.app import app, config
from optout.streams.exceptions import ConsentUnknown
from optout.streams.rules.lookup_answers import lookup_answer
from optout.streams.rules.number_settings import shown
from optout.streams.rules.scopes import id_problem
from optout.streams.web.auth import reading_refusal
from optout.tables import full_copy
from optout.tables.blocklist import current_consent
from optout.tables.client.blocklist_reader import BlocklistReader
from optout.tables.history import number_history
from optout.tables.review import open_items
from optout.tables.settings import brand_record, numbers_of_brand, settings_for
from optout.tables.views.dead_letters import MAX_LISTED, dead_letters
from optout.tables.views.figures import current_figures
from optout.tables.views.routing import at_owner

__all__ = ["WORKER", "WorkerSource"]

log = logging.getLogger(__name__)


class WorkerSource:
    """A worker's answers: a pair from the worker that owns the end user's partition, with its
    history; a number's senders from the worker's full copy of the block list."""

    nav = WORKER_NAV

    async def routed(self, request: web.Request, sender: str) -> web.Response | None:
        return await at_owner(request, sender)

    async def pair(self, number: str, sender: str) -> tuple[dict, list[dict] | None]:
        answer = lookup_answer(number, sender, await current_consent(number, sender))
        return answer, number_history(number, sender)

    def blocked_senders(self, number: str, after: str | None, limit: int) -> list[dict]:
        return _full_copy().blocked_senders(number, after, limit)

    def settings(self, number: str) -> dict[str, Any] | None:
        return shown(settings_for(number))

    def all_blocked(self, number: str) -> tuple[str, list[dict]]:
        copy = _full_copy()
        return copy.scope_of_number(number), copy.all_blocked_senders(number)


WORKER = WorkerSource()


def _full_copy() -> BlocklistReader:
    """This worker's full copy of the block list; ConsentUnknown while it is starting."""
    if full_copy.reader is None:
        raise ConsentUnknown("the worker is starting; try again")
    return full_copy.reader


@app.task
async def announce_console() -> None:
    log.info("operator console on %s/console", config.canonical_url.rstrip("/"))


# Faust hands its views aiohttp's request (its own Request type is abstract) and passes on
# aiohttp responses: the shared pages take and give aiohttp's.
@app.page("/console")
class ConsoleHome(View):
    async def get(self, request: Request) -> web.Response:
        return await reading.home(cast(web.Request, request), WORKER)


@app.page("/console/static/{name}")
class ConsoleStatic(View):
    async def get(self, request: Request, name: str) -> web.Response:
        return await reading.static(cast(web.Request, request))


@app.page("/console/pair")
class ConsolePairPage(View):
    async def get(self, request: Request) -> web.Response:
        return await reading.pair(cast(web.Request, request), WORKER)


@app.page("/console/number")
class ConsoleNumberPage(View):
    async def get(self, request: Request) -> web.Response:
        return await reading.number(cast(web.Request, request), WORKER)


@app.page("/console/number.csv")
class ConsoleNumberCsv(View):
    async def get(self, request: Request) -> web.Response:
        return await reading.number_csv(cast(web.Request, request), WORKER)


@app.page("/console/brand")
class ConsoleBrandPage(View):
    """A brand's settings and numbers, and its kinds of message to change (?brand=ID)."""

    async def get(self, request: Request) -> web.Response:
        if refusal := reading_refusal(request):
            return reading.html(message_page("A brand", refusal, WORKER_NAV), status=401)
        brand_id = request.query.get("brand", "").strip()
        if not brand_id:
            return reading.html(page("A brand", brand_form(""), WORKER_NAV, "/console/brand"))
        if problem := id_problem("brand", brand_id):
            return reading.html(message_page("A brand", problem, WORKER_NAV, brand_form("")), 400)
        brand = brand_record(brand_id)
        return reading.html(brand_page(brand, numbers_of_brand(brand_id), WORKER_NAV))


@app.page("/console/queues")
class ConsoleQueuesPage(View):
    async def get(self, request: Request) -> web.Response:
        if refusal := reading_refusal(request):
            return reading.html(message_page("Work queues", refusal, WORKER_NAV), status=401)
        listed = [row for _, row in await dead_letters()][:MAX_LISTED]
        return reading.html(queues_page(open_items(), listed, int(time.time() * 1000), WORKER_NAV))


@app.page("/console/figures")
class ConsoleFiguresPage(View):
    """The figures page; ?part=figures: only its cards, for the script's refresh."""

    async def get(self, request: Request) -> web.Response:
        if refusal := reading_refusal(request):
            return reading.html(message_page("Live figures", refusal, WORKER_NAV), status=401)
        if request.query.get("part") == "figures":
            return reading.html(figures_section(current_figures()))
        return reading.html(figures_page(current_figures(), WORKER_NAV))
