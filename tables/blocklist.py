"""The block list: per consent scope (a number, a campaign or a brand), the end users who
opted out.

A RocksDB (rocksdict) table keyed by (scope id, end user) (tables/keys.py,
streams/rules/scopes.py), backed by the compacted `blocklist-changelog` topic whose values are
Avro BlocklistEntry records. Hand-made changes are commands on `blocklist-commands`, applied by
the manage agent like any other change. Its HTTP API is in tables/views/blocklist.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

from aiokafka.errors import KafkaError
from faust.types import TP, RecordMetadata

from optout.schemas import AvroSerde, Record
from optout.streams.app import app, bytes_table, config, raw_topic, registry
from optout.streams.exceptions import ConsentUnknown, RebalanceUnderWay
from optout.streams.rules.partitioning import end_user_partition
from optout.streams.rules.scopes import Consent, consent, scope_id, scope_of
from optout.streams.runtime.assignment import assignment
from optout.streams.runtime.handled import classified, wait_for_inbound
from optout.streams.runtime.partition_stores import get_in_partition, put_in_partition
from optout.streams.topics import (
    BLOCKLIST_CHANGELOG_TOPIC,
    BLOCKLIST_COMMANDS_TOPIC,
    INBOUND_TOPIC,
    REKEYED_INBOUND_TOPIC,
)
from optout.streams.web.health import not_ready
from optout.tables.keys import pair_key
from optout.tables.settings import settings_for

__all__ = [
    "blocklist",
    "blocklist_commands_topic",
    "blocklist_entry_serde",
    "command_serde",
    "consent_for",
    "copy_problem",
    "current_consent",
    "current_consents",
    "entry_in",
    "put_entry",
    "write_entry",
]

blocklist_entry_serde = AvroSerde("blocklist_entry", BLOCKLIST_CHANGELOG_TOPIC, registry)
command_serde = AvroSerde("blocklist_command", BLOCKLIST_COMMANDS_TOPIC, registry)
blocklist_commands_topic = raw_topic(BLOCKLIST_COMMANDS_TOPIC)

blocklist = bytes_table("blocklist", BLOCKLIST_CHANGELOG_TOPIC)


def entry_in(scope: str, end_user_number: str) -> Record | None:
    """The end user's entry in a scope, read in this worker's store of the end user's partition
    (where classify and manage write it; straight from RocksDB, as Faust's table would read it
    twice and cost the gate about a tenth of its throughput)."""
    partition = end_user_partition(end_user_number, config.partitions)
    value = get_in_partition(blocklist, partition, pair_key(scope_id(scope), end_user_number))
    return None if value is None else blocklist_entry_serde.decode(value)


def put_entry(entry: Record) -> None:
    key = pair_key(scope_id(scope_of(entry)), entry["end_user_number"])
    blocklist[key] = blocklist_entry_serde.encode(entry)


async def write_entry(entry: Record) -> Awaitable[RecordMetadata | None]:
    """`put_entry` for a writer of many changes at once (an import's): straight to the end
    user's partition store and changelog, without Faust's bookkeeping of each write; returns the
    changelog record's acknowledgement, to await before the command is acknowledged."""
    user = entry["end_user_number"]
    key = pair_key(scope_id(scope_of(entry)), user)
    partition = end_user_partition(user, config.partitions)
    return await put_in_partition(blocklist, partition, key, blocklist_entry_serde.encode(entry))


def consent_for(
    business_number: str, end_user_number: str, settings: Record | None = None
) -> Consent:
    """May `business_number` text `end_user_number` (its settings, when the caller has them),
    and which entry decides it."""
    settings = settings or settings_for(business_number)
    return consent(settings, lambda scope: entry_in(scope, end_user_number))


async def current_consent(business_number: str, end_user_number: str) -> Consent:
    """The one consent answer of a worker: may `business_number` text `end_user_number`
    (see `current_consents`)."""
    return (await current_consents([(business_number, end_user_number)]))[0]


async def current_consents(pairs: Sequence[tuple[str, str]]) -> list[Consent]:
    """May each business number text its end user: from this worker's copy of the end user's
    partition, once classify has handled every inbound message the broker held when asked (the
    gate's "after", agents/gate.py: a STOP acknowledged before the question is in the answer).
    ConsentUnknown when that copy may be behind (see `copy_problem`) or classify does not get
    there within `config.lookup_wait_s`; never "not blocked" by default."""
    _raise_copy_problem(pairs)
    partitions = {end_user_partition(user, config.partitions) for _, user in pairs}
    try:
        await asyncio.wait_for(wait_for_inbound(partitions), config.lookup_wait_s)
    except TimeoutError:
        raise ConsentUnknown(
            f"classify has not reached the end of the inbound messages within "
            f"{config.lookup_wait_s:g}s; try again"
        ) from None
    except RebalanceUnderWay as exc:
        raise ConsentUnknown(f"{exc}; try again") from None
    except KafkaError as exc:
        problem = f"the broker's end offsets could not be read: {exc}; try again"
        raise ConsentUnknown(problem) from exc
    _raise_copy_problem(pairs)  # a rebalance may have begun meanwhile
    return [consent_for(number, user) for number, user in pairs]


def _raise_copy_problem(pairs: Sequence[tuple[str, str]]) -> None:
    for user in {user for _, user in pairs}:
        if (problem := copy_problem(user)) is not None:
            raise ConsentUnknown(problem)


def copy_problem(end_user_number: str) -> str | None:
    """Why this worker's block list cannot answer for the end user now, or None when it can:
    the worker is ready (partitions assigned and restored, settings and brands read to the end
    offsets seen at start: streams/web/health.py), owns the end user's partition actively
    (not a standby copy, not a partition that moved), and has classified what waited on it when
    it took it over (`TakenOver`)."""
    if why := not_ready():
        return why + "; try again"
    partition = end_user_partition(end_user_number, config.partitions)
    if TP(BLOCKLIST_CHANGELOG_TOPIC, partition) not in assignment.actives():
        return (
            f"this worker does not own partition {partition} of the block list (it moved, or "
            "this copy is a standby); try again"
        )
    return taken_over.problem(partition)


class TakenOver:
    """A partition this worker was given is current only once classify has handled the inbound
    messages that waited on it then (up to the end its first fetch saw): a worker that died
    after writing a STOP's block, and before committing the STOP, left it to be classified
    again here; until then the restored block list lacks it."""

    def __init__(self) -> None:
        self.targets: dict[TP, int] = {}
        self.current: set[int] = set()

    def forget(self, *_: object, **__: object) -> None:
        self.targets.clear()
        self.current.clear()

    def problem(self, partition: int) -> str | None:
        if partition in self.current:
            return None
        for topic in (INBOUND_TOPIC, REKEYED_INBOUND_TOPIC):
            tp = TP(topic, partition)
            if tp not in self.targets:
                end = assignment.highwater(tp)
                if end is None:
                    return f"partition {partition} was just assigned here; try again"
                self.targets[tp] = end
            if classified.handled_up_to(tp) < self.targets[tp]:
                return (
                    f"the worker is classifying the messages that waited on partition "
                    f"{partition} when it took it over; try again"
                )
        self.current.add(partition)
        return None


taken_over = TakenOver()
app.on_partitions_assigned.connect(taken_over.forget)
app.on_partitions_revoked.connect(taken_over.forget)
