"""Per-number and per-brand settings over HTTP: read them, change them (admin token)."""

from __future__ import annotations

import asyncio
import time

from faust.web import Request, Response, View

from optout.schemas import Record
from optout.streams.app import app
from optout.streams.rules.number_settings import shown, updated_brand, updated_settings
from optout.streams.rules.validate import number_problem
from optout.streams.web.auth import admin_request
from optout.tables.settings import (
    brand_defaults,
    brand_record,
    brand_serde,
    brand_settings,
    brand_settings_topic,
    configured_defaults,
    number_settings,
    numbers_of_brand,
    settings_for,
    settings_serde,
    settings_topic,
)

__all__ = ["BrandSettingsView", "NumberSettingsView"]

_FOLLOW_TIMEOUT_SECONDS = 5.0


async def _followed(store: dict[bytes, Record], key: str, written: Record) -> None:
    """Wait (a little) until this worker applies settings it wrote, so that a message or a send
    that comes after the answer meets them here."""
    deadline = time.monotonic() + _FOLLOW_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if (store.get(key.encode()) or {}).get("updated_at", 0) >= written["updated_at"]:
            return
        await asyncio.sleep(0.02)


async def _admin_body(view: View, request: Request) -> dict | Response:
    """The JSON object of an admin's request, or the answer refusing it."""
    _, body = await admin_request(request)
    if not isinstance(body, dict):
        return view.json({"error": "body must be a JSON object of settings"}, status=400)
    return body


@app.page("/v1/numbers/{number}")
class NumberSettingsView(View):
    """GET a number's settings; PUT changes to them (an OPTOUT_ADMIN_TOKENS bearer token)."""

    async def get(self, request: Request, number: str) -> Response:
        if problem := number_problem("number", number):
            return self.json({"error": problem}, status=400)
        stored = number_settings.get(number.encode())
        return self.json({"stored": stored is not None, "settings": shown(settings_for(number))})

    async def put(self, request: Request, number: str) -> Response:
        changes = await _admin_body(self, request)
        if not isinstance(changes, dict):
            return changes
        if problem := number_problem("number", number):
            return self.json({"error": problem}, status=400)
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
        await _followed(number_settings, number, updated)
        return self.json({"stored": True, "settings": shown(updated)})


@app.page("/v1/brands/{brand_id}")
class BrandSettingsView(View):
    """GET a brand's settings and its numbers; PUT {"opt_out_scope": ..., "quiet_hours": ...,
    "kinds": [...], "default_kind": ..., "kind_aware": ..., "clarify": ...,
    "clarify_window_hours": ...} (admin token, any of them): the scope of every number of the
    brand that sets none, the window of the recipient's local time in which its sends go out
    ("08:00-21:00"; null: none), and its kinds of message (rules/kinds.py)."""

    async def get(self, request: Request, brand_id: str) -> Response:
        return self.json(brand_record(brand_id) | {"numbers": numbers_of_brand(brand_id)})

    async def put(self, request: Request, brand_id: str) -> Response:
        body = await _admin_body(self, request)
        if not isinstance(body, dict):
            return body
        record, rewritten, problems = updated_brand(
            brand_record(brand_id), body, number_settings.values(), int(time.time() * 1000)
        )
        if problems:
            return self.json({"error": "brand settings refused", "problems": problems}, status=422)
        sent = [
            await brand_settings_topic.send(key=brand_id.encode(), value=brand_serde.encode(record))
        ]
        for settings in rewritten:
            value = settings_serde.encode(settings)
            sent.append(await settings_topic.send(key=settings["number"].encode(), value=value))
        for acknowledged in sent:
            await acknowledged
        await _followed(brand_settings, brand_id, record)
        for settings in rewritten:
            await _followed(number_settings, settings["number"], settings)
        return self.json(record | {"numbers_rescoped": [s["number"] for s in rewritten]})
