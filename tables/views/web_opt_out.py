"""The public opt-out pages: `/opt-out/{number}` and `/opt-out/brand/{brand_id}`.

A website the business designates is a reasonable means of revoking consent per se (FCC 2024
order). A person enters their phone number and it is blocked in the number's consent scope (or,
for a brand's page, in the scope of each of the brand's numbers) through Kafka like a manual
change, with source `web`. No token; rate-limited per client address; one self-contained page,
nothing loaded from elsewhere.
"""

from __future__ import annotations

import html
import time
from typing import cast

from aiohttp import web
from faust.web import Request, Response, View

from optout.streams.app import app, config
from optout.streams.rules.scopes import current_scope
from optout.streams.rules.validate import is_e164
from optout.streams.rules.web_opt_out import opt_out_command, typed_number
from optout.streams.web.rate_limit import RateLimit
from optout.tables.blocklist import blocklist_commands_topic, command_serde
from optout.tables.keys import end_user_key
from optout.tables.settings import numbers_of_brand, settings_for

__all__ = ["BrandOptOutPage", "NumberOptOutPage", "OptOutPage", "limiter", "page"]

limiter = RateLimit(per_minute=config.web_opt_out_per_minute, burst=config.web_opt_out_per_minute)
UNREADABLE = "We could not read that phone number. Type it like (415) 555-0100 or +1 415 555 0100."
TOO_MANY = "Too many requests from your address. Please try again in a minute."


def page(brand: str, action: str, note: str = "", done: bool = False) -> str:
    """The page: a form, or the confirmation; escaped, styled inline, no outside asset."""
    brand = html.escape(brand)
    body = (
        f"<p role='status'>{html.escape(note)}</p>"
        if done
        else (
            (f"<p role='alert'>{html.escape(note)}</p>" if note else "")
            + f"<form method='post' action='{html.escape(action)}'>"
            "<label for='phone'>Your mobile number</label>"
            "<input id='phone' name='phone' type='tel' autocomplete='tel' required>"
            "<button type='submit'>Stop messages</button></form>"
        )
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Stop text messages from {brand}</title><style>"
        "body{font:1.1rem/1.5 system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}"
        "label,input,button{display:block;font:inherit;margin:.5rem 0;width:100%}"
        "input,button{padding:.6rem;box-sizing:border-box}"
        "[role=alert]{color:#a00}</style></head><body>"
        f"<h1>Stop text messages from {brand}</h1>{body}</body></html>"
    )


class OptOutPage(View):
    """A page whose form blocks the number typed in the scopes `scopes()` returns."""

    def refused(self, brand: str, action: str, note: str, status: int) -> Response:
        return self.html(page(brand, action, note), status=status)

    async def opt_out(
        self, request: Request, action: str, brand: str, numbers: list[str]
    ) -> Response:
        if not limiter.allow(cast(web.Request, request).remote or "unknown"):
            return self.refused(brand, action, TOO_MANY, 429)
        form = await request.post()
        end_user = typed_number(str(form.get("phone", "")))
        if end_user is None:
            return self.refused(brand, action, UNREADABLE, 400)
        scopes = {current_scope(settings_for(n)): n for n in sorted(numbers, reverse=True)}
        now_ms = int(time.time() * 1000)
        for scope, number in scopes.items():
            command = opt_out_command(number, scope, end_user, now_ms)
            sent = await blocklist_commands_topic.send(
                key=end_user_key(end_user), value=command_serde.encode(command)
            )
            await sent
        note = f"{end_user} will get no more text messages from {brand}."
        return self.html(page(brand, action, note, done=True))


@app.page("/opt-out/{number}")
class NumberOptOutPage(OptOutPage):
    """GET the form to stop a number's messages; POST phone=... to stop them."""

    async def get(self, request: Request, number: str) -> Response:
        if not is_e164(number):
            return self.html(page("this number", "", "No such page."), status=404)
        return self.html(page(settings_for(number)["brand_name"], f"/opt-out/{number}"))

    async def post(self, request: Request, number: str) -> Response:
        if not is_e164(number):
            return self.html(page("this number", "", "No such page."), status=404)
        brand = settings_for(number)["brand_name"]
        return await self.opt_out(request, f"/opt-out/{number}", brand, [number])


@app.page("/opt-out/brand/{brand_id}")
class BrandOptOutPage(OptOutPage):
    """GET the form to stop every number of a brand; POST phone=... to stop them."""

    async def get(self, request: Request, brand_id: str) -> Response:
        numbers = numbers_of_brand(brand_id)
        if not numbers:
            return self.html(page(brand_id, "", "No such page."), status=404)
        return self.html(page(settings_for(numbers[0])["brand_name"], f"/opt-out/brand/{brand_id}"))

    async def post(self, request: Request, brand_id: str) -> Response:
        numbers = numbers_of_brand(brand_id)
        if not numbers:
            return self.html(page(brand_id, "", "No such page."), status=404)
        brand = settings_for(numbers[0])["brand_name"]
        return await self.opt_out(request, f"/opt-out/brand/{brand_id}", brand, numbers)
