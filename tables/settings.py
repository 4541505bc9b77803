"""Per-number settings: a global table over the compacted `number-settings` topic.

Every worker holds every number's settings (they are few and small), keyed by the number,
values Avro NumberSettings. A number with no record gets the defaults from configuration.
"""

from __future__ import annotations

import logging

import faust

from optout.schemas import AvroSerde, DecodeError, Record
from optout.streams.app import app, config, raw_topic, registry
from optout.streams.config import SETTINGS_TOPIC
from optout.tables.blocklist import ROCKSDICT

log = logging.getLogger(__name__)

settings_serde = AvroSerde("number_settings", SETTINGS_TOPIC, registry)

number_settings = app.GlobalTable(
    "number-settings",
    partitions=config.partitions,
    schema=faust.Schema(key_type=str, key_serializer="raw", value_serializer="raw"),
    changelog_topic=raw_topic(SETTINGS_TOPIC, compacting=True),
    options=ROCKSDICT,
)


def default_settings(number: str) -> Record:
    """What a number without a settings record gets."""
    return {
        "number": number,
        "enabled": True,
        "brand_name": config.default_brand_name,
        "help_contact": config.default_help_contact,
        "webhook_url": config.default_webhook_url or None,
        "updated_at": 0,
    }


def settings_for(number: str) -> Record:
    """The number's settings, with defaults for what it leaves empty."""
    defaults = default_settings(number)
    value = number_settings.get(number)
    if value is None:
        return defaults
    try:
        settings = settings_serde.decode(value)
    except DecodeError as exc:
        log.error("settings of %s unreadable, using defaults: %s", number, exc)
        return defaults
    return {key: settings[key] or defaults[key] for key in defaults} | {
        "enabled": settings["enabled"]
    }
