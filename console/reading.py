"""The console's reading pages, one set of handlers for a classify worker (console/views.py) and a
lookup replica (console/replica.py): the home page and its assets, a pair's answer, a number's
blocked senders and their CSV. Each process gives them its `Source` of answers; what differs
(a worker forwards a pair to its owner and shows its history, a replica answers from its own
copy) is there, not in the pages.

Reading follows the lookup setting: open unless lookups need a token (the console's token cookie
counts). A page that cannot answer now says so with 503 and Retry-After, never "not blocked".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from aiohttp import web

from optout.console.pages import (
    PAGE_HEADERS,
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
    page,
    pair_form,
    pair_page,
)
from optout.streams.exceptions import RETRY_AFTER_SECONDS, ConsentUnknown
from optout.streams.rules.lookup_answers import pair_problem
from optout.streams.web.auth import reading_refusal

__all__ = ["Source", "html", "home", "number", "number_csv", "pair", "static"]

Nav = Sequence[tuple[str, str]]


class Source(Protocol):
    """Where a process's console pages get their answers; each raises ConsentUnknown when it
    has none now."""

    @property
    def nav(self) -> Nav: ...

    async def routed(self, request: web.Request, sender: str) -> web.Response | None:
        """The page of the process that answers for `sender`, when it is another one."""

    async def pair(self, number: str, sender: str) -> tuple[dict, list[dict] | None]:
        """The lookup answer for the pair, and its history where this process keeps it."""

    def blocked_senders(self, number: str, after: str | None, limit: int) -> list[dict]: ...

    def settings(self, number: str) -> dict[str, Any] | None:
        """The number's settings as shown, where this process has them."""

    def all_blocked(self, number: str) -> tuple[str, list[dict]]:
        """The number's scope and every sender blocked in it."""


def html(body: str, status: int = 200) -> web.Response:
    headers = PAGE_HEADERS | ({"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else {})
    return web.Response(text=body, status=status, content_type="text/html", headers=headers)


async def home(request: web.Request, source: Source) -> web.Response:
    return html(home_page(source.nav))


async def static(request: web.Request) -> web.Response:
    found = asset(request.match_info["name"])
    if found is None:
        return web.Response(text="not found", status=404)
    return web.Response(text=found[0], content_type=found[1])


async def pair(request: web.Request, source: Source) -> web.Response:
    number = number_from_query(request.query.get("number", ""))
    sender = number_from_query(request.query.get("sender", ""))
    if not number and not sender:
        return html(page("A pair", pair_form("", ""), source.nav, "/console/pair"))
    form, problem = pair_form(number, sender), pair_problem(number, sender)
    if refused := cannot_show("A pair", form, source.nav, problem, reading_refusal(request)):
        return html(*refused)
    try:
        routed = await source.routed(request, sender)
        if routed is not None:
            return routed
        answer, history = await source.pair(number, sender)
    except ConsentUnknown as exc:
        text = f"No answer for this pair now: {exc}"
        return html(message_page("A pair", text, source.nav), 503)
    return html(pair_page(number, sender, answer, history, source.nav))


async def number(request: web.Request, source: Source) -> web.Response:
    number = number_from_query(request.query.get("number", ""))
    after = request.query.get("after") or None
    if not number:
        return html(page("A number", number_form(""), source.nav, "/console/number"))
    form, problem = number_form(number), pair_problem(number)
    if refused := cannot_show("A number", form, source.nav, problem, reading_refusal(request)):
        return html(*refused)
    try:
        senders = source.blocked_senders(number, after, SENDERS_PER_PAGE)
        settings = source.settings(number)
    except ConsentUnknown as exc:
        return html(message_page("A number", str(exc), source.nav), 503)
    return html(number_page(number, settings, senders, after, source.nav))


async def number_csv(request: web.Request, source: Source) -> web.Response:
    """Every sender blocked in the number's scope, as CSV."""
    number = number_from_query(request.query.get("number", ""))
    if problem := pair_problem(number):
        return web.Response(text=problem, status=400)
    if refusal := reading_refusal(request):
        return web.Response(text=refusal, status=401)
    try:
        scope, senders = source.all_blocked(number)
    except ConsentUnknown as exc:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return web.Response(text=str(exc), status=503, headers=headers)
    return web.Response(
        text=blocked_senders_csv(number, scope, senders),
        content_type="text/csv",
        headers=csv_headers(number),
    )
