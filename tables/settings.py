"""Per-number and per-brand settings: the compacted `number-settings` and `brand-settings`
topics, followed into memory.

Every classify worker holds every number's settings (they are few and small), keyed by the
number, values Avro NumberSettings, and the brands' default scopes. A number with no record
gets the defaults from configuration. (Faust's GlobalTable would fit, but it hangs partition
assignment on the embedded broker and has open multi-worker bugs; a plain topic reader does the
job.)
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from optout.schemas import AvroSerde, Record
from optout.streams.app import app, config, raw_topic, registry
from optout.streams.rules.kinds import Kinds, kinds_of_brand
from optout.streams.rules.number_settings import (
    default_brand,
    default_settings,
    effective_settings,
)
from optout.streams.rules.scopes import current_scope
from optout.streams.topics import BRAND_SETTINGS_TOPIC, SETTINGS_TOPIC
from optout.streams.web.health import READINESS_CHECKS
from optout.tables.client.topic_reader import TopicReader

__all__ = [
    "SettingsByNumber",
    "brand_defaults",
    "brand_of",
    "brand_record",
    "brand_serde",
    "brand_settings",
    "brand_settings_reader",
    "brand_settings_topic",
    "configured_defaults",
    "former_members",
    "kinds_of",
    "members_of",
    "number_settings",
    "numbers_of_brand",
    "quiet_hours_of",
    "settings_for",
    "settings_problem",
    "settings_read",
    "settings_reader",
    "settings_serde",
    "settings_topic",
]


class SettingsByNumber(dict[bytes, Record]):
    """Every number's stored settings, and which numbers left each scope."""

    def __init__(self) -> None:
        super().__init__()
        self.left: dict[str, set[bytes]] = defaultdict(set)
        self.members: dict[str, set[bytes]] = defaultdict(set)

    def __setitem__(self, number: bytes, settings: Record) -> None:
        self.pop(number, None)
        super().__setitem__(number, settings)
        self.members[current_scope(settings)].add(number)
        for former in settings.get("former_scopes") or ():
            self.left[former["scope"]].add(number)

    def pop(self, number: bytes, default: Any = None) -> Any:
        settings = super().pop(number, default)
        if settings:
            self.members[current_scope(settings)].discard(number)
        for former in (settings or {}).get("former_scopes") or ():
            self.left[former["scope"]].discard(number)
        return settings


settings_topic = raw_topic(SETTINGS_TOPIC)
settings_serde = AvroSerde("number_settings", SETTINGS_TOPIC, registry)
number_settings = SettingsByNumber()
settings_reader = TopicReader(
    config.broker_url, SETTINGS_TOPIC, number_settings, decode=settings_serde.decode
)
brand_settings_topic = raw_topic(BRAND_SETTINGS_TOPIC)
brand_serde = AvroSerde("brand_settings", BRAND_SETTINGS_TOPIC, registry)
brand_settings: dict[bytes, Record] = {}
brand_settings_reader = TopicReader(
    config.broker_url, BRAND_SETTINGS_TOPIC, brand_settings, decode=brand_serde.decode
)


@app.task
async def follow_settings() -> Any:
    await asyncio.gather(settings_reader.run(), brand_settings_reader.run())


def settings_problem() -> str | None:
    """Why the worker cannot know every number's scope yet (a brand-scoped number would be
    answered in number scope, without its brand's blocks), or None."""
    if settings_reader.caught_up.is_set() and brand_settings_reader.caught_up.is_set():
        return None
    return "the worker has not read every number's and brand's settings yet; try again"


READINESS_CHECKS.append(settings_problem)


async def settings_read() -> None:
    """Wait until every number's and brand's settings are read to the end offsets seen at
    start: nothing is decided or gated before a number's scope and its brand are known."""
    await settings_reader.caught_up.wait()
    await brand_settings_reader.caught_up.wait()


def brand_defaults() -> dict[str, str]:
    """Each brand's default scope, by brand id (brands that set one)."""
    return {
        record["brand_id"]: record["opt_out_scope"]
        for record in brand_settings.values()
        if record["opt_out_scope"]
    }


def brand_of(settings: Record) -> Record | None:
    """The stored settings of a number's brand, if it has a brand that stored any."""
    brand_id = settings.get("brand_id")
    return brand_settings.get(brand_id.encode()) if brand_id else None


def quiet_hours_of(settings: Record) -> str | None:
    """The quiet hours of a number's brand ('08:00-21:00'), or None."""
    brand = brand_of(settings)
    return brand.get("quiet_hours") if brand else None


def kinds_of(settings: Record) -> Kinds:
    """The kinds of message of a number's brand (rules/kinds.py)."""
    return kinds_of_brand(brand_of(settings))


def brand_record(brand_id: str) -> Record:
    """A brand's stored settings, or a record with none set."""
    return brand_settings.get(brand_id.encode()) or default_brand(brand_id)


def numbers_of_brand(brand_id: str) -> list[str]:
    """The numbers whose settings name the brand, in order."""
    return sorted(s["number"] for s in number_settings.values() if s.get("brand_id") == brand_id)


def former_members(scope: str) -> list[Record]:
    """The settings of the numbers that left a scope."""
    return [settings_for(number.decode()) for number in number_settings.left.get(scope, ())]


def members_of(scope: str) -> list[Record]:
    """The settings of the numbers whose current scope is `scope`: an opt-in there lifts their
    own and kept blocks too (rules/decide.py)."""
    return [settings_for(number.decode()) for number in number_settings.members.get(scope, ())]


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
