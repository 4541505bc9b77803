"""Per-number and per-brand settings over HTTP: read them, change them (admin token)."""

from __future__ import annotations

import asyncio
import time

from faust.web import Request, Response, View

from optout.streams.app import app
from optout.streams.rules.number_settings import follow_brand_default, shown, updated_settings
from optout.streams.rules.scopes import id_problem
from optout.streams.rules.validate import is_e164
from optout.streams.web.auth import Refused, admin_caller
from optout.tables.settings import (
    brand_defaults,
    brand_serde,
    brand_settings_topic,
    configured_defaults,
    number_settings,
    settings_for,
    settings_serde,
    settings_topic,
)

__all__ = ["BrandSettingsView", "NumberSettingsView"]

_FOLLOW_TIMEOUT_SECONDS = 5.0


async def _followed(settings: dict) -> None:
    """Wait (a little) until this worker applies settings it wrote, so that a message sent
    after the answer meets them here."""
    deadline = time.monotonic() + _FOLLOW_TIMEOUT_SECONDS
    number = settings["number"].encode()
    while time.monotonic() < deadline:
        if (number_settings.get(number) or {}).get("updated_at", 0) >= settings["updated_at"]:
            return
        await asyncio.sleep(0.02)


async def _admin_body(view: View, request: Request) -> dict | Response:
    """The JSON object of an admin's request, or the answer refusing it."""
    try:
        admin_caller(request)
    except Refused as refused:
        return view.json({"error": str(refused)}, status=refused.status)
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return view.json({"error": "body must be a JSON object of settings"}, status=400)
    return body


@app.page("/v1/numbers/{number}")
class NumberSettingsView(View):
    """GET a number's settings; PUT changes to them (an OPTOUT_ADMIN_TOKENS bearer token)."""

    async def get(self, request: Request, number: str) -> Response:
        if not is_e164(number):
            return self.json({"error": f"{number!r} is not E.164 like +15551234567"}, status=400)
        stored = number_settings.get(number.encode())
        return self.json({"stored": stored is not None, "settings": shown(settings_for(number))})

    async def put(self, request: Request, number: str) -> Response:
        changes = await _admin_body(self, request)
        if isinstance(changes, Response):
            return changes
        updated, problems = updated_settings(
            number_settings.get(number.encode()),
            changes,
            configured_defaults(number),
            brand_defaults(),
            int(time.time() * 1000),
        )
        if problems:
            return self.json({"error": "settings refused", "problems": problems}, status=422)
        sent = await settings_topic.send(key=number.encode(), value=settings_serde.encode(updated))
        await sent
        await _followed(updated)
        return self.json({"stored": True, "settings": shown(updated)})


@app.page("/v1/brands/{brand_id}")
class BrandSettingsView(View):
    """GET a brand's default scope and its numbers; PUT {"opt_out_scope": ...} (admin token):
    the scope of every number of the brand that sets none."""

    async def get(self, request: Request, brand_id: str) -> Response:
        numbers = [s["number"] for s in number_settings.values() if s.get("brand_id") == brand_id]
        return self.json(
            {
                "brand_id": brand_id,
                "opt_out_scope": brand_defaults().get(brand_id),
                "numbers": sorted(numbers),
            }
        )

    async def put(self, request: Request, brand_id: str) -> Response:
        body = await _admin_body(self, request)
        if isinstance(body, Response):
            return body
        if set(body) != {"opt_out_scope"}:
            return self.json({"error": 'body must be {"opt_out_scope": "brand"}'}, status=400)
        now_ms = int(time.time() * 1000)
        default = body["opt_out_scope"] or None
        rewritten, problems = follow_brand_default(
            number_settings.values(), brand_id, default, now_ms
        )
        problems = [p for p in [id_problem("brand_id", brand_id)] if p] or problems
        if problems:
            return self.json({"error": "brand settings refused", "problems": problems}, status=422)
        record = {"brand_id": brand_id, "opt_out_scope": default, "updated_at": now_ms}
        sent = [
            await brand_settings_topic.send(key=brand_id.encode(), value=brand_serde.encode(record))
        ]
        for settings in rewritten:
            value = settings_serde.encode(settings)
            sent.append(await settings_topic.send(key=settings["number"].encode(), value=value))
        for acknowledged in sent:
            await acknowledged
        for settings in rewritten:
            await _followed(settings)
        return self.json(record | {"numbers_rescoped": [s["number"] for s in rewritten]})
