"""A table's RocksDB store for one partition, read and written directly: the one place that
reaches into Faust's store for it. A read through the Faust table of a key that is not there
raises and catches a KeyError (about a tenth of the gate's throughput, `optout bench gate`, for
the check of earlier rejections that almost every send misses); a write through it costs about
60 µs of Faust's bookkeeping (another tenth, for the one send in ten the benchmark rejects);
pruning scans a partition's keys."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, cast

from faust.types import RecordMetadata, TableT

from optout.streams.app import app, current_transaction

__all__ = ["get_in_partition", "partition_store", "put_in_partition"]


def partition_store(table: TableT, partition: int) -> Any:
    """The rocksdict of `table`'s `partition` (opened if it was not)."""
    return cast(Any, table.data)._db_for_partition(partition)


def get_in_partition(table: TableT, partition: int, key: bytes) -> bytes | None:
    return partition_store(table, partition).get(key)


async def put_in_partition(
    table: TableT, partition: int, key: bytes, value: bytes
) -> Awaitable[RecordMetadata | None]:
    """Write `key` in `table`'s store and changelog for `partition`; returns the changelog
    record's acknowledgement, to await before the input that caused the write is acknowledged.
    Inside a Kafka transaction (exactly-once) the changelog record goes in it, when it commits."""
    transaction = current_transaction.get()
    if transaction is not None:
        transaction.write(table, partition, key, value)
        partition_store(table, partition)[key] = value
        sent_at_commit: asyncio.Future[RecordMetadata | None] = asyncio.Future()
        sent_at_commit.set_result(None)  # the transaction sends the record as it commits
        return sent_at_commit
    partition_store(table, partition)[key] = value
    changelog = table.changelog_topic.get_topic_name()
    return await app.producer.send(changelog, key, value, partition, None, None)
