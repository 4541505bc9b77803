"""Per-number settings: the compacted `number-settings` topic, followed into memory.

Every classify worker holds every number's settings (they are few and small), keyed by the
number, values Avro NumberSettings. A number with no record gets the defaults from
configuration. (Faust's GlobalTable would fit, but it hangs partition assignment on the
embedded broker and has open multi-worker bugs; a plain topic reader does the job.)
"""

from __future__ import annotations

import time
from typing import Any

from faust.web import Request, Response, View

from optout.schemas import AvroSerde, Record
from optout.streams.app import app, config, raw_topic, registry
from optout.streams.rules.number_settings import (
    apply_changes,
    default_settings,
    effective_settings,
    settings_problems,
    shown,
)
from optout.streams.rules.validate import is_e164
from optout.streams.topics import SETTINGS_TOPIC
from optout.streams.web.auth import Refused, admin_caller
from optout.tables.client.topic_reader import TopicReader

settings_topic = raw_topic(SETTINGS_TOPIC)
settings_serde = AvroSerde("number_settings", SETTINGS_TOPIC, registry)
number_settings: dict[bytes, Record] = {}
settings_reader = TopicReader(
    config.broker_url, SETTINGS_TOPIC, number_settings, decode=settings_serde.decode
)


@app.task
async def follow_settings() -> Any:
    await settings_reader.run()


def configured_defaults(number: str) -> Record:
    return default_settings(
        number,
        brand_name=config.default_brand_name,
        help_contact=config.default_help_contact,
        webhook_url=config.default_webhook_url or None,
        webhook_secret=config.default_webhook_secret or None,
    )


def settings_for(number: str) -> Record:
    """The number's settings, with the configured defaults for what it leaves empty."""
    return effective_settings(number_settings.get(number.encode()), configured_defaults(number))


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
