"""Follow a topic into a local key-value store (or a callback), and know when it has caught up.

Used for per-number settings inside the workers, and by command-line tools. It reads every
partition with no consumer group, from the beginning, reading committed records only (the
service's own topics are written in Kafka transactions with OPTOUT_PROCESSING_GUARANTEE=
exactly_once), and judges "caught up" by the last stable offset that Fetch responses carry (the
high watermark, less any transaction still open), not by ListOffsets: the embedded broker answers
ListOffsets(latest) wrongly (see streams/embedded/tansu_quirks.py), while its Fetch answer is
right.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from optout.streams.rules.partitioning import end_user_partition
from optout.streams.topics import partitions_of

__all__ = [
    "FETCH_MAX_BYTES",
    "Store",
    "TopicReader",
    "read_end_user_partition",
    "read_records",
    "read_to_end",
    "read_until_caught_up",
]

log = logging.getLogger(__name__)

# The most one fetch brings in, whatever the per-partition limits (quirk 4 in
# streams/embedded/tansu_quirks.py).
FETCH_MAX_BYTES = 1024**2


class Store(Protocol):
    """Where a TopicReader applies records: a dict, or anything with these two methods."""

    def __setitem__(self, key: bytes, value: Any, /) -> None: ...

    def pop(self, key: bytes, default: None, /) -> object: ...


class TopicReader:
    """Applies every record of a topic to `store` (a None value deletes the key), or hands each
    record to `on_record` instead."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        store: Store,
        decode: Callable[[bytes], Any] = bytes,
        poll_timeout_ms: int = 200,
        on_record: Callable[[ConsumerRecord], None] | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.store = store
        self.decode = decode
        self.on_record = on_record or (lambda record: self._apply(record.key, record.value))
        self.poll_timeout_ms = poll_timeout_ms
        self.caught_up = asyncio.Event()
        self.lag: dict[int, int] = {}
        self.highwaters: dict[int, int] = {}

    async def run(self) -> None:
        """Read forever (until cancelled)."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            group_id=None,
            isolation_level="read_committed",
            fetch_max_wait_ms=self.poll_timeout_ms,  # some brokers hold a fetch this long
            fetch_max_bytes=FETCH_MAX_BYTES,  # some ignore the per-partition limit
        )
        await consumer.start()
        try:
            partitions = await self._partitions(consumer)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            while True:
                batches = await consumer.getmany(timeout_ms=self.poll_timeout_ms)
                for records in batches.values():
                    for record in records:
                        self.on_record(record)
                await self._update_lag(consumer, partitions)
        finally:
            await consumer.stop()

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        if value is None:
            self.store.pop(key, None)
            return
        try:
            self.store[key] = self.decode(value)
        except ValueError as exc:
            log.error("%s: unreadable record for key %r skipped: %s", self.topic, key, exc)

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        while True:
            partitions = await partitions_of(self.bootstrap, self.topic)
            if partitions:
                return [TopicPartition(self.topic, p) for p in partitions]
            log.warning("topic %s not found yet; waiting for it", self.topic)
            await asyncio.sleep(1.0)

    async def _update_lag(self, consumer: AIOKafkaConsumer, partitions: list) -> None:
        for tp in partitions:
            end = consumer.last_stable_offset(tp)
            if end is not None:
                self.highwaters[tp.partition] = end
                self.lag[tp.partition] = max(0, end - await consumer.position(tp))
        if len(self.lag) == len(partitions) and not any(self.lag.values()):
            if not self.caught_up.is_set():
                log.info("%s: caught up (%d records)", self.topic, sum(self.highwaters.values()))
            self.caught_up.set()


async def read_to_end(
    bootstrap: str, topic: str, decode: Callable[[bytes], Any], timeout: float = 30.0
) -> dict[bytes, Any]:
    """Everything a compacted topic holds now, by key (for command-line tools)."""
    store: dict[bytes, Any] = {}
    await read_until_caught_up(TopicReader(bootstrap, topic, store, decode), timeout)
    return store


async def read_records(bootstrap: str, topic: str, timeout: float = 60.0) -> list[ConsumerRecord]:
    """Every record a topic holds now, in order per partition (for command-line tools)."""
    records: list[ConsumerRecord] = []
    await read_until_caught_up(TopicReader(bootstrap, topic, {}, on_record=records.append), timeout)
    return records


async def read_until_caught_up(
    reader: TopicReader, timeout: float, progress: Callable[[int, int], None] | None = None
) -> None:
    """Run a reader until it has caught up, reporting (applied, known) records as it goes."""
    following = asyncio.create_task(reader.run())
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while not reader.caught_up.is_set():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{reader.topic}: not caught up after {timeout:.0f}s")
            if progress and reader.highwaters:
                total = sum(reader.highwaters.values())
                progress(total - sum(reader.lag.values()), total)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader.caught_up.wait(), 0.5)
        if progress:
            total = sum(reader.highwaters.values())
            progress(total, total)
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following


async def read_end_user_partition(
    bootstrap: str, topic: str, end_user: str, timeout: float = 30.0
) -> list[ConsumerRecord]:
    """Every record the end user's partition of a topic keyed by end users holds now, in
    order (the end user's records among them)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        count = len(await partitions_of(bootstrap, topic)) or 1
        tp = TopicPartition(topic, end_user_partition(end_user, count))
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        records: list[ConsumerRecord] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            batch = await consumer.getmany(tp, timeout_ms=200)
            records += batch.get(tp, [])
            end = consumer.last_stable_offset(tp)
            if end is not None and await consumer.position(tp) >= end:
                return records
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{topic}: partition {tp.partition} not read within {timeout}s")
    finally:
        await consumer.stop()
