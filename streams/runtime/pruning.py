"""Dedupe state that forgets: message and reply ids are kept only as long as carriers redeliver.

The seen-messages and sent-replies tables hold ids with a time (epoch ms as text). Every
`interval` seconds per partition, the agent that owns the partition deletes the ids older than
the retention, from its own RocksDB and, through Faust's table, from the compacted changelog, so
state, changelog and recovery time stay bounded however many messages have passed.
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

from faust.types import EventT, TableT

from optout.streams.runtime.batches import table_writes_for

__all__ = ["Pruner", "stale_keys"]

log = logging.getLogger(__name__)


def stale_keys(table: TableT, partition: int, cutoff_ms: int, limit: int) -> list[bytes]:
    """Keys of one partition of `table` whose time is before `cutoff_ms`, at most `limit`."""
    database = cast(Any, table.data)._db_for_partition(partition)
    stale = []
    for key, value in database.items():
        if int(value) < cutoff_ms:
            stale.append(key)
            if len(stale) >= limit:
                break
    return stale


class Pruner:
    """Deletes a table's ids older than `retention_s`, at most once per `interval_s` per
    partition, from inside the agent that owns the partition."""

    def __init__(self, table: TableT, retention_s: float, interval_s: float, limit: int = 50_000):
        self.table = table
        self.retention_ms = int(retention_s * 1000)
        self.interval_s = interval_s
        self.limit = limit
        self.last_run: dict[int, float] = {}

    def prune(self, event: EventT) -> int:
        """Prune the partition of `event` if it is due: how many ids were deleted."""
        partition, now = event.message.partition, time.monotonic()
        if now - self.last_run.setdefault(partition, now) < self.interval_s:
            return 0
        self.last_run[partition] = now
        cutoff = int(time.time() * 1000) - self.retention_ms
        stale = stale_keys(self.table, partition, cutoff, self.limit)
        with table_writes_for(event):
            for key in stale:
                del self.table[key]
        if stale:
            log.info("%s partition %d: %d ids older than the retention forgotten",
                     self.table.name, partition, len(stale))  # fmt: skip
        return len(stale)
