"""The block list: per business number, the end users who opted out; and its lookup view.

A RocksDB (rocksdict) table keyed by 'business|end_user', backed by the compacted
`blocklist-changelog` topic whose values are Avro BlocklistEntry records.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from faust.exceptions import SameNode

from optout.schemas import AvroSerde, Record
from optout.streams.app import app, config, raw_topic, registry
from optout.streams.config import BLOCKLIST_CHANGELOG_TOPIC
from optout.streams.validate import is_e164

ROCKSDICT = {"driver": "rocksdict"}

blocklist_entry_serde = AvroSerde("blocklist_entry", BLOCKLIST_CHANGELOG_TOPIC, registry)

blocklist = app.Table(
    "blocklist",
    partitions=config.partitions,
    key_type=bytes,  # raw bytes: the key bytes of the table, the topic and the route agree
    value_type=bytes,
    changelog_topic=raw_topic(BLOCKLIST_CHANGELOG_TOPIC, compacting=True),
    options=ROCKSDICT,
)


def pair_key(business_number: str, end_user_number: str) -> bytes:
    """The key of a pair in the block list, and of its messages on `inbound-by-pair`."""
    return f"{business_number}|{end_user_number}".encode()


def get_entry(business_number: str, end_user_number: str) -> Record | None:
    value = blocklist.get(pair_key(business_number, end_user_number))
    return None if value is None else blocklist_entry_serde.decode(value)


def put_entry(entry: Record) -> None:
    key = pair_key(entry["business_number"], entry["end_user_number"])
    blocklist[key] = blocklist_entry_serde.encode(entry)


def lookup_answer(business_number: str, end_user_number: str, entry: Record | None) -> dict:
    """The JSON a send service gets: may `business_number` text `end_user_number`?"""
    blocked = bool(entry and entry["blocked"])
    since = entry["since"] if entry else None
    return {
        "number": business_number,
        "sender": end_user_number,
        "blocked": blocked,
        "since": _iso(since),
        "since_ms": since,
        "keyword": entry["keyword"] if entry else None,
        "message_id": entry["message_id"] if entry else None,
        "source": entry["source"] if entry else None,
    }


def _iso(epoch_ms: int | None) -> str | None:
    if epoch_ms is None:
        return None
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds")


@app.page("/v1/blocklist/{number}/{sender}")
async def blocklist_lookup(web: Any, request: Any, number: str, sender: str) -> Any:
    """GET: is `sender` blocked for `number`? Answered by the worker that owns the pair."""
    bad = [n for n in (number, sender) if not is_e164(n)]
    if bad:
        return web.json(
            {"error": f"not an E.164 number like +15551234567: {', '.join(bad)}"}, status=400
        )
    try:
        return await app.router.route_req(blocklist.name, pair_key(number, sender), web, request)
    except SameNode:
        return web.json(lookup_answer(number, sender, get_entry(number, sender)))
