"""Per-number settings: the compacted `number-settings` topic, followed into memory.

Every classify worker holds every number's settings (they are few and small), keyed by the
number, values Avro NumberSettings. A number with no record gets the defaults from
configuration. (Faust's GlobalTable would fit, but it hangs partition assignment on the
embedded broker and has open multi-worker bugs; a plain topic reader does the job.)
"""

from __future__ import annotations

from typing import Any

from optout.schemas import AvroSerde, Record
from optout.streams.app import app, config, raw_topic, registry
from optout.streams.rules.number_settings import default_settings, effective_settings
from optout.streams.topics import SETTINGS_TOPIC
from optout.tables.client.topic_reader import TopicReader

__all__ = [
    "configured_defaults",
    "number_settings",
    "settings_for",
    "settings_reader",
    "settings_serde",
    "settings_topic",
]

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
