"""Dedupe state that forgets: message and reply ids are kept only as long as carriers redeliver.

The dedupe tables hold ids with a time (epoch ms as text, alone or before a space). Every
`interval` seconds per partition, the agent that owns the partition looks at the next `budget`
ids of that partition (resuming where it stopped, so a long table never stalls a batch) and
deletes those older than the retention, from its own RocksDB and, through Faust's table, from
the compacted changelog: state, changelog and recovery time stay bounded however many messages
have passed.
"""

from __future__ import annotations

import logging
import time

from faust.types import EventT, TableT

from optout.streams.runtime.batches import table_writes_for
from optout.streams.runtime.partition_stores import partition_store

__all__ = ["Pruner", "stale_keys"]

log = logging.getLogger(__name__)


def stale_keys(
    table: TableT, partition: int, cutoff_ms: int, after: bytes | None, budget: int
) -> tuple[list[bytes], bytes | None]:
    """Of at most `budget` keys of one partition of `table` after `after` (from the start when
    None), those whose time is before `cutoff_ms`; and the key to go on after (None: the end)."""
    database = partition_store(table, partition)
    stale: list[bytes] = []
    scanned = 0
    for key, value in database.items(from_key=after) if after else database.items():
        if key == after:  # from_key is inclusive
            continue
        if int(value.split(b" ", 1)[0]) < cutoff_ms:
            stale.append(key)
        scanned += 1
        if scanned >= budget:
            return stale, key
    return stale, None


class Pruner:
    """Deletes a table's ids older than `retention_s`, looking at `budget` ids of a partition at
    most once per `interval_s`, from inside the agent that owns the partition."""

    def __init__(self, table: TableT, retention_s: float, interval_s: float, budget: int = 20_000):
        self.table = table
        self.retention_ms = int(retention_s * 1000)
        self.interval_s = interval_s
        self.budget = budget
        self.last_run: dict[int, float] = {}
        self.resume_after: dict[int, bytes | None] = {}

    def prune(self, event: EventT) -> int:
        """Prune the partition of `event` if it is due: how many ids were deleted."""
        partition, now = event.message.partition, time.monotonic()
        if now - self.last_run.setdefault(partition, now) < self.interval_s:
            return 0
        self.last_run[partition] = now
        cutoff = int(time.time() * 1000) - self.retention_ms
        stale, self.resume_after[partition] = stale_keys(
            self.table, partition, cutoff, self.resume_after.get(partition), self.budget
        )
        with table_writes_for(event):
            for key in stale:
                del self.table[key]
        if stale:
            log.info("%s partition %d: %d ids older than the retention forgotten",
                     self.table.name, partition, len(stale))  # fmt: skip
        return len(stale)
