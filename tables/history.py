"""The audit history: every change of every pair's block-list entry, and point-in-time answers.

A RocksDB table keyed by the pair (tables/keys.py; partitioned like the block list), values Avro
BlocklistHistory: the pair's opt-out events, oldest first, each saying who or what changed it
(keyword and message id, or manual with reason and actor).
"""

from __future__ import annotations

from typing import Any

from optout.schemas import AvroSerde, Record
from optout.streams.app import bytes_table, registry
from optout.streams.rules.lookup_answers import iso
from optout.streams.topics import HISTORY_CHANGELOG_TOPIC
from optout.tables.keys import pair_key

__all__ = ["history", "history_of", "record_change", "state_at"]

history_serde = AvroSerde("blocklist_history", HISTORY_CHANGELOG_TOPIC, registry)

history = bytes_table("blocklist-history", HISTORY_CHANGELOG_TOPIC)


def history_of(business_number: str, end_user_number: str) -> list[Record]:
    value = history.get(pair_key(business_number, end_user_number))
    return [] if value is None else history_serde.decode(value)["events"]


def record_change(event: Record) -> None:
    """Append a consent event to its pair's history (once: a replayed event is not added twice)."""
    events = history_of(event["business_number"], event["end_user_number"])
    if events and events[-1]["event_id"] == event["event_id"]:
        return
    key = pair_key(event["business_number"], event["end_user_number"])
    history[key] = history_serde.encode({"events": [*events, event]})


def state_at(events: list[Record], at_ms: int) -> dict[str, Any]:
    """Was the pair blocked at `at_ms`, since when, and because of which change?"""
    before = [e for e in events if e["occurred_at"] <= at_ms]
    if not before:
        return {"blocked": False, "since": None, "because": None}
    last = before[-1]
    return {
        "blocked": last["action"] == "OPT_OUT",
        "since": iso(last["occurred_at"]),
        "because": last,
    }
