"""The block list: per business number, the end users who opted out.

A RocksDB (rocksdict) table keyed by the pair (tables/keys.py), backed by the compacted
`blocklist-changelog` topic whose values are Avro BlocklistEntry records. Hand-made changes are
commands on `blocklist-commands`, applied by the manage agent like any other change. Its HTTP
API is in tables/views/blocklist.py.
"""

from __future__ import annotations

from optout.schemas import AvroSerde, Record
from optout.streams.app import bytes_table, raw_topic, registry
from optout.streams.topics import BLOCKLIST_CHANGELOG_TOPIC, BLOCKLIST_COMMANDS_TOPIC
from optout.tables.keys import pair_key

__all__ = [
    "blocklist",
    "blocklist_commands_topic",
    "blocklist_entry_serde",
    "command_serde",
    "get_entry",
    "put_entry",
]

blocklist_entry_serde = AvroSerde("blocklist_entry", BLOCKLIST_CHANGELOG_TOPIC, registry)
command_serde = AvroSerde("blocklist_command", BLOCKLIST_COMMANDS_TOPIC, registry)
blocklist_commands_topic = raw_topic(BLOCKLIST_COMMANDS_TOPIC)

blocklist = bytes_table("blocklist", BLOCKLIST_CHANGELOG_TOPIC)


def get_entry(business_number: str, end_user_number: str) -> Record | None:
    value = blocklist.get(pair_key(business_number, end_user_number))
    return None if value is None else blocklist_entry_serde.decode(value)


def put_entry(entry: Record) -> None:
    key = pair_key(entry["business_number"], entry["end_user_number"])
    blocklist[key] = blocklist_entry_serde.encode(entry)
