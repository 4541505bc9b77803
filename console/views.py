"""The operator console on a classify worker: `/console` and its pages (console/pages.py).

Reading pages follow the lookup setting: open unless lookups need a token (the console's token
cookie counts). A pair's page is rendered by the worker that owns the end user's partition,
where the pair's entries and history are; others forward the request, as they do lookups.
Changes are made by the page's script through the HTTP API, with an admin token.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from faust.web import Request, Response, View

from optout.console.pages import (
    PAGE_HEADERS,
    SENDERS_PER_PAGE,
    WORKER_NAV,
    asset,
    blocked_senders_csv,
    cannot_show,
    csv_headers,
    figures_page,
    figures_section,
    home_page,
    message_page,
    number_form,
    number_from_query,
    number_page,
    page,
    pair_form,
    pair_page,
    queues_page,
)
from optout.streams.app import app, config
from optout.streams.exceptions import RETRY_AFTER_SECONDS, ConsentUnknown
from optout.streams.rules.lookup_answers import lookup_answer, pair_problem
from optout.streams.rules.number_settings import shown
from optout.streams.web.auth import reading_refusal
from optout.tables import full_copy
from optout.tables.blocklist import current_consent
from optout.tables.client.blocklist_reader import BlocklistReader
from optout.tables.history import number_history
from optout.tables.review import open_items
from optout.tables.settings import settings_for
from optout.tables.views.dead_letters import MAX_LISTED, dead_letters
from optout.tables.views.figures import current_figures
from optout.tables.views.routing import at_owner

__all__ = ["console_home", "console_static", "e164_query"]

log = logging.getLogger(__name__)


def e164_query(request: Request, name: str) -> str:
    return number_from_query(request.query.get(name, ""))


def html_page(view: Any, body: str, status: int = 200) -> Response:
    headers = dict(PAGE_HEADERS)
    if status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return view.html(body, status=status, headers=headers)


def _full_copy() -> BlocklistReader:
    """This worker's full copy of the block list; ConsentUnknown while it is starting."""
    if full_copy.reader is None:
        raise ConsentUnknown("the worker is starting; try again")
    return full_copy.reader


def _unknown_pair(view: View, reason: str) -> Response:
    """A pair's page when no worker can answer for it now: say so, never "not blocked"."""
    text = f"No answer for this pair now: {reason}"
    return html_page(view, message_page("A pair", text, WORKER_NAV), status=503)


@app.task
async def announce_console() -> None:
    log.info("operator console on %s/console", config.canonical_url.rstrip("/"))


@app.page("/console")
async def console_home(web: View, request: Request) -> Response:
    return html_page(web, home_page(WORKER_NAV))


@app.page("/console/static/{name}")
async def console_static(web: View, request: Request, name: str) -> Response:
    found = asset(name)
    if found is None:
        return web.text("not found", status=404)
    return web.text(found[0], content_type=found[1])


@app.page("/console/pair")
class ConsolePairPage(View):
    async def get(self, request: Request) -> Response:
        number, sender = e164_query(request, "number"), e164_query(request, "sender")
        if not number and not sender:
            return html_page(self, page("A pair", pair_form("", ""), WORKER_NAV, "/console/pair"))
        form, problem = pair_form(number, sender), pair_problem(number, sender)
        if refused := cannot_show("A pair", form, WORKER_NAV, problem, reading_refusal(request)):
            return html_page(self, refused[0], status=refused[1])
        routed = await at_owner(self, request, sender, _unknown_pair)
        if routed is not None:
            return routed
        try:
            answer = lookup_answer(number, sender, await current_consent(number, sender))
        except ConsentUnknown as exc:
            return _unknown_pair(self, str(exc))
        history = number_history(number, sender)
        return html_page(self, pair_page(number, sender, answer, history, WORKER_NAV))


@app.page("/console/number")
class ConsoleNumberPage(View):
    async def get(self, request: Request) -> Response:
        number, after = e164_query(request, "number"), request.query.get("after") or None
        if not number:
            return html_page(self, page("A number", number_form(""), WORKER_NAV, "/console/number"))
        form, problem = number_form(number), pair_problem(number)
        if refused := cannot_show("A number", form, WORKER_NAV, problem, reading_refusal(request)):
            return html_page(self, refused[0], status=refused[1])
        try:
            senders = _full_copy().blocked_senders(number, after, SENDERS_PER_PAGE)
        except ConsentUnknown as exc:
            return html_page(self, message_page("A number", str(exc), WORKER_NAV), status=503)
        settings = shown(settings_for(number))
        return html_page(self, number_page(number, settings, senders, after, WORKER_NAV))


@app.page("/console/number.csv")
class ConsoleNumberCsv(View):
    """Every sender blocked in the number's scope, as CSV."""

    async def get(self, request: Request) -> Response:
        number = e164_query(request, "number")
        if problem := pair_problem(number):
            return self.text(problem, status=400)
        if refusal := reading_refusal(request):
            return self.text(refusal, status=401)
        try:
            copy = _full_copy()
            senders = copy.all_blocked_senders(number)
        except ConsentUnknown as exc:
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
            return self.text(str(exc), status=503, headers=headers)
        return self.text(
            blocked_senders_csv(number, copy.scope_of_number(number), senders),
            content_type="text/csv",
            headers=csv_headers(number),
        )


@app.page("/console/queues")
class ConsoleQueuesPage(View):
    async def get(self, request: Request) -> Response:
        if refusal := reading_refusal(request):
            return html_page(self, message_page("Work queues", refusal, WORKER_NAV), status=401)
        listed = [row for _, row in await dead_letters()][:MAX_LISTED]
        body = queues_page(open_items(), listed, int(time.time() * 1000), WORKER_NAV)
        return html_page(self, body)


@app.page("/console/figures")
class ConsoleFiguresPage(View):
    """The figures page; ?part=figures: only its cards, for the script's refresh."""

    async def get(self, request: Request) -> Response:
        if refusal := reading_refusal(request):
            return html_page(self, message_page("Live figures", refusal, WORKER_NAV), status=401)
        if request.query.get("part") == "figures":
            return html_page(self, figures_section(current_figures()))
        return html_page(self, figures_page(current_figures(), WORKER_NAV))
