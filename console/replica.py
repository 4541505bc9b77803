"""The operator console on a lookup replica (`optout lookups`): a pair's answer with its scope
and why, and a number's blocked senders, from the replica's own copy of the block list. The
history, the evidence, changes and the work queues are on the classify workers' console."""

from __future__ import annotations

from aiohttp import web

from optout.console.pages import (
    PAGE_HEADERS,
    REPLICA_NAV,
    SENDERS_PER_PAGE,
    asset,
    blocked_senders_csv,
    cannot_show,
    csv_headers,
    home_page,
    message_page,
    number_form,
    number_from_query,
    number_page,
    pair_form,
    pair_page,
)
from optout.streams.exceptions import RETRY_AFTER_SECONDS, ConsentUnknown
from optout.streams.rules.lookup_answers import lookup_answer, pair_problem
from optout.streams.web.auth import reading_refusal
from optout.streams.web.openapi import REPLICA_PATHS, openapi_document
from optout.tables.client.lookup_replica import READER

__all__ = ["add_console"]


def add_console(app: web.Application) -> None:
    """The console's routes, answered from the replica's reader (`lookup_replica.READER`)."""
    app.router.add_get("/console", _home)
    app.router.add_get("/console/pair", _pair)
    app.router.add_get("/console/number", _number)
    app.router.add_get("/console/number.csv", _number_csv)
    app.router.add_get("/console/static/{name}", _static)
    app.router.add_get("/openapi.json", _openapi)


def _html(body: str, status: int = 200) -> web.Response:
    headers = PAGE_HEADERS | ({"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else {})
    return web.Response(text=body, status=status, content_type="text/html", headers=headers)


async def _home(request: web.Request) -> web.Response:
    return _html(home_page(REPLICA_NAV))


async def _pair(request: web.Request) -> web.Response:
    number = number_from_query(request.query.get("number", ""))
    sender = number_from_query(request.query.get("sender", ""))
    form, problem = pair_form(number, sender), pair_problem(number, sender)
    if refused := cannot_show("A pair", form, REPLICA_NAV, problem, reading_refusal(request)):
        return _html(*refused)
    try:
        answer = lookup_answer(number, sender, request.app[READER].consent(number, sender))
    except ConsentUnknown as exc:
        text = f"No answer for this pair now: {exc}"
        return _html(message_page("A pair", text, REPLICA_NAV), 503)
    return _html(pair_page(number, sender, answer, None, REPLICA_NAV))


async def _number(request: web.Request) -> web.Response:
    number = number_from_query(request.query.get("number", ""))
    after = request.query.get("after") or None
    form, problem = number_form(number), pair_problem(number)
    if refused := cannot_show("A number", form, REPLICA_NAV, problem, reading_refusal(request)):
        return _html(*refused)
    try:
        senders = request.app[READER].blocked_senders(number, after, SENDERS_PER_PAGE)
    except ConsentUnknown as exc:
        return _html(message_page("A number", str(exc), REPLICA_NAV), 503)
    return _html(number_page(number, None, senders, after, REPLICA_NAV))


async def _number_csv(request: web.Request) -> web.Response:
    number = number_from_query(request.query.get("number", ""))
    if problem := pair_problem(number):
        return web.Response(text=problem, status=400)
    if refusal := reading_refusal(request):
        return web.Response(text=refusal, status=401)
    reader = request.app[READER]
    csv_text = blocked_senders_csv(number, reader.scope_of_number(number),
                                   reader.all_blocked_senders(number))  # fmt: skip
    return web.Response(text=csv_text, content_type="text/csv", headers=csv_headers(number))


async def _static(request: web.Request) -> web.Response:
    found = asset(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound()
    return web.Response(text=found[0], content_type=found[1])


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(REPLICA_PATHS))
