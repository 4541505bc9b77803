"""A table's RocksDB store for one partition, read directly: the one place that reaches into
Faust's store for it. A read through the Faust table of a key that is not there raises and
catches a KeyError (about a tenth of the gate's throughput, `optout bench gate`, for the check
of earlier rejections that almost every send misses); pruning scans a partition's keys."""

from __future__ import annotations

from typing import Any, cast

from faust.types import TableT

__all__ = ["get_in_partition", "partition_store"]


def partition_store(table: TableT, partition: int) -> Any:
    """The rocksdict of `table`'s `partition` (opened if it was not)."""
    return cast(Any, table.data)._db_for_partition(partition)


def get_in_partition(table: TableT, partition: int, key: bytes) -> bytes | None:
    return partition_store(table, partition).get(key)
