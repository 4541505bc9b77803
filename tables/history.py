"""The audit history: every consent change of every end user in every scope, and
point-in-time answers.

A RocksDB table keyed like the block list (tables/keys.py; partitioned by the end user), values
Avro BlocklistHistory: the opt-out events of one end user in one scope, oldest first, each
saying who or what changed it (keyword, number texted and message id, or manual with reason and
actor).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from faust.types import RecordMetadata

from optout.schemas import AvroSerde, Record
from optout.streams.app import bytes_table, config, registry
from optout.streams.rules.lookup_answers import iso
from optout.streams.rules.partitioning import end_user_partition
from optout.streams.rules.scopes import consent_at, memberships, scope_id, scope_of
from optout.streams.runtime.partition_stores import get_in_partition, put_in_partition
from optout.streams.topics import HISTORY_CHANGELOG_TOPIC
from optout.tables.keys import pair_key
from optout.tables.settings import settings_for

__all__ = [
    "history",
    "history_in",
    "number_history",
    "record_change",
    "state_at",
    "write_change",
]

history_serde = AvroSerde("blocklist_history", HISTORY_CHANGELOG_TOPIC, registry)

history = bytes_table("blocklist-history", HISTORY_CHANGELOG_TOPIC)


def history_in(scope: str, end_user_number: str) -> list[Record]:
    """The end user's consent changes in one scope, oldest first."""
    value = history.get(pair_key(scope_id(scope), end_user_number))
    return [] if value is None else history_serde.decode(value)["events"]


def record_change(event: Record) -> None:
    """Append a consent event to its scope's history (once: a replayed event is not added twice)."""
    events = history_in(scope_of(event), event["end_user_number"])
    if events and events[-1]["event_id"] == event["event_id"]:
        return
    key = pair_key(scope_id(scope_of(event)), event["end_user_number"])
    history[key] = history_serde.encode({"events": [*events, event]})


async def write_change(event: Record) -> Awaitable[RecordMetadata | None] | None:
    """`record_change` for a writer of many changes at once: straight to the end user's
    partition store and changelog; the changelog record's acknowledgement, to await (None when
    the event is there already)."""
    user = event["end_user_number"]
    key = pair_key(scope_id(scope_of(event)), user)
    partition = end_user_partition(user, config.partitions)
    value = get_in_partition(history, partition, key)
    events = [] if value is None else history_serde.decode(value)["events"]
    if events and events[-1]["event_id"] == event["event_id"]:
        return None
    encoded = history_serde.encode({"events": [*events, event]})
    return await put_in_partition(history, partition, key, encoded)


def number_history(business_number: str, end_user_number: str) -> list[Record]:
    """Every change that spoke or speaks for the number: in its scope, its own, scopes it left;
    oldest first, each with its scope."""
    scopes = dict.fromkeys(m.scope for m in memberships(settings_for(business_number)))
    events = [e | {"scope": s} for s in scopes for e in history_in(s, end_user_number)]
    return sorted(events, key=lambda e: e["occurred_at"])


def state_at(business_number: str, end_user_number: str, at_ms: int) -> dict[str, Any]:
    """Was the end user blocked for the number at `at_ms`, since when, in which scope, and
    because of which change?"""
    then = consent_at(
        settings_for(business_number), lambda s: history_in(s, end_user_number), at_ms
    )
    because = then.entry
    return {
        "blocked": then.blocked,
        "scope": then.scope,
        "since": iso(because["occurred_at"]) if because else None,
        "because": {k: v for k, v in because.items() if k not in ("blocked", "since")}
        if because
        else None,
    }
