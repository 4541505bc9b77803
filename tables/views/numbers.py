"""Per-number settings over HTTP: read them, change them (admin token)."""

from __future__ import annotations

import time

from faust.web import Request, Response, View

from optout.streams.app import app
from optout.streams.rules.number_settings import (
    apply_changes,
    default_settings,
    effective_settings,
    settings_problems,
    shown,
)
from optout.streams.rules.validate import is_e164
from optout.streams.web.auth import Refused, admin_caller
from optout.tables.settings import (
    configured_defaults,
    number_settings,
    settings_for,
    settings_serde,
    settings_topic,
)

__all__ = ["NumberSettingsView"]


@app.page("/v1/numbers/{number}")
class NumberSettingsView(View):
    """GET a number's settings; PUT changes to them (an OPTOUT_ADMIN_TOKENS bearer token)."""

    async def get(self, request: Request, number: str) -> Response:
        if not is_e164(number):
            return self.json({"error": f"{number!r} is not E.164 like +15551234567"}, status=400)
        stored = number_settings.get(number.encode())
        return self.json({"stored": stored is not None, "settings": shown(settings_for(number))})

    async def put(self, request: Request, number: str) -> Response:
        try:
            admin_caller(request)
        except Refused as refused:
            return self.json({"error": str(refused)}, status=refused.status)
        try:
            changes = await request.json()
        except ValueError:
            return self.json({"error": "body must be a JSON object of settings"}, status=400)
        if not isinstance(changes, dict):
            return self.json({"error": "body must be a JSON object of settings"}, status=400)
        current = number_settings.get(number.encode()) or default_settings(number)
        updated, problems = apply_changes(current, changes)
        updated = updated | {"number": number, "updated_at": int(time.time() * 1000)}
        problems = problems or settings_problems(
            effective_settings(updated, configured_defaults(number))
        )
        if problems:
            return self.json({"error": "settings refused", "problems": problems}, status=422)
        sent = await settings_topic.send(key=number.encode(), value=settings_serde.encode(updated))
        await sent
        return self.json({"stored": True, "settings": shown(updated)})
