"""Kafka transactions for an agent that consumes and produces: exactly-once on Apache Kafka.

With `OPTOUT_PROCESSING_GUARANTEE=exactly_once`, what an agent makes of a batch (its records, its
tables' changelog records) and the offsets of the batch's records are committed in one Kafka
transaction per partition number (of the agent's co-partitioned topics): a consumer reading
committed sees all of a batch's records once, or none of them, and a batch read again after a
crash was never committed. Faust's own
exactly-once is not used: it picks a record's transaction by the partition the record goes to, so
a re-keyed record would commit apart from the offset of what it was made from, and it keeps the
local writes of a transaction that aborted (faust-streaming/faust#177, #323, #517).

aiokafka 0.14 commits offsets in a transaction by group id only (no KIP-447 group metadata), so a
worker that lost a partition without noticing is fenced the pre-KIP-447 way: one transactional
producer per partition number, its transactional id named after it; the worker that takes the
partition over starts one with the same id, which aborts what the old one left open and fences
it.

A table write inside a transaction changes the local RocksDB store at once (later messages of the
batch read it), and its changelog record goes out in the transaction. If the transaction aborts,
the store is put back as it was (`Transaction.undo`). A worker killed mid-transaction cannot do
that; a worker that did not stop cleanly starts from its changelogs instead (`state_was_left`).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from aiokafka import AIOKafkaProducer
from aiokafka.errors import IllegalOperation, KafkaError
from aiokafka.structs import TopicPartition
from faust.tables.manager import TableManager
from faust.transport.consumer import Consumer
from faust.types import TP, EventT, RecordMetadata, TableT, TopicT

from optout.streams.app import app, config, current_transaction
from optout.streams.rules.partitioning import default_partitioner
from optout.streams.runtime.dead_letters import send_to_dead_letters
from optout.streams.runtime.partition_stores import get_in_partition, partition_store
from optout.streams.runtime.read_committed import skipped

__all__ = [
    "BatchTransactions",
    "ProducerUnusable",
    "RUNNING_MARK",
    "SourceTransactions",
    "Transaction",
    "in_transaction_of",
    "install_exactly_once",
    "open_transactions",
    "state_was_left",
    "stopped_cleanly",
    "transactions_for",
]

log = logging.getLogger(__name__)

# In the data directory while a worker that uses transactions runs; removed on a clean stop.
RUNNING_MARK = "transactions-running"
_open_batches = 0
# How long a worker whose producer was fenced waits for a rebalance before it starts a new one.
FENCED_WAIT_S = 2 * min(3.0, config.session_timeout / 3) + 1.0
# What handles a batch in its transactions: the events, and their transactions by partition.
InTransactions = Callable[[Sequence[EventT], "BatchTransactions"], Awaitable[None]]
# One transaction at a time per partition number among the agents that write the same tables
# (classify and manage, the block list): two agents' transactions writing the same end users'
# entries must not interleave, or undoing one would undo the other's writes.
_partition_locks: defaultdict[tuple[str, int], asyncio.Lock] = defaultdict(asyncio.Lock)


def open_transactions() -> int:
    """How many batches' transactions are open (begun, neither committed nor aborted)."""
    return _open_batches


class ProducerUnusable(KafkaError):
    """A transactional producer that was fenced or failed: a new one is needed. A KafkaError, so
    that the batch is handled again (streams/runtime/batches.py), never split up as if one of
    its records were at fault."""


@contextmanager
def _unusable_is_kafka_error(partition: int) -> Iterator[None]:
    """aiokafka says a producer fenced while idle (found out at its next request) can no longer
    be used with IllegalOperation, or an AssertionError on its state: not the records' fault."""
    try:
        yield
    except (IllegalOperation, AssertionError) as exc:
        raise ProducerUnusable(f"transactional producer of partition {partition}: {exc}") from exc


class Transaction:
    """The transaction of one partition number in one batch: its producer, the changelog
    records of its table writes (sent before it commits) and how to undo those writes."""

    def __init__(self, partition: int, producer: AIOKafkaProducer) -> None:
        self.partition = partition
        self.producer = producer
        self.changelog: list[tuple[TableT, int, bytes, bytes | None]] = []
        self.undo_log: list[tuple[TableT, int, bytes, bytes | None]] = []

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> Any:
        """Hand a record to the transaction's producer; its acknowledgement, to await later."""
        with _unusable_is_kafka_error(self.partition):
            return await self.producer.send(topic, value, key=key, partition=partition)

    def write(self, table: TableT, partition: int, key: bytes, value: bytes | None) -> None:
        """A table write about to be made locally: remember the value it replaces, and send its
        changelog record before the transaction commits."""
        self.undo_log.append((table, partition, key, get_in_partition(table, partition, key)))
        self.changelog.append((table, partition, key, value))

    def undo(self) -> None:
        """Put the local stores back as they were before this transaction's writes."""
        for table, partition, key, value in reversed(self.undo_log):
            store = partition_store(table, partition)
            if value is None:
                store.delete(key)
            else:
                store[key] = value
        self.undo_log.clear()
        self.changelog.clear()

    async def commit(self, next_offsets: dict[TP, int], group_id: str) -> None:
        """Send the changelog records and the source offsets, and commit; then note how far each
        changelog partition is stored locally, as Faust does after a changelog write."""
        acks = [
            (table, partition, await self.send(_changelog(table), key, value, partition))
            for table, partition, key, value in self.changelog
        ]
        offsets = {TopicPartition(tp.topic, tp.partition): n for tp, n in next_offsets.items()}
        with _unusable_is_kafka_error(self.partition):
            await self.producer.send_offsets_to_transaction(offsets, group_id)
            await self.producer.commit_transaction()
        stored: dict[tuple[TableT, int], int] = {}
        for table, partition, ack in acks:
            metadata: RecordMetadata = await ack
            stored[(table, partition)] = max(stored.get((table, partition), -1), metadata.offset)
        for (table, partition), offset in stored.items():
            cast(Any, table.data).set_persisted_offset(TP(_changelog(table), partition), offset)
        self.undo_log.clear()
        self.changelog.clear()


def _changelog(table: TableT) -> str:
    return table.changelog_topic.get_topic_name()


class SourceTransactions:
    """The transactional producers of one agent, one per partition number of its co-partitioned
    source topics (the unit Faust assigns), made when first needed and kept while assigned.

    Everything a message does to the tables is in its end user's partition, so transactions of
    different partition numbers never depend on each other's writes: one may abort while others
    commit. Each commit is noted where Faust keeps the group's commits, so that a batch handled
    again after a failure skips what did commit, and so that how far a partition is processed
    reads right (streams/runtime/batches.py, handled.py, stalls.py)."""

    def __init__(self, agent: str, topics: Iterable[str], writes: str) -> None:
        self.agent = agent
        self.topics = set(topics)
        self.writes = writes  # the tables it writes: their locks (`_partition_locks`)
        # Partitions whose producer another one fenced, since when: this worker may be a zombie.
        self.fenced: dict[int, float] = {}
        # Per partition number, its producer (started, or starting).
        self.producers: dict[int, asyncio.Future[AIOKafkaProducer]] = {}

    def transactional_id(self, partition: int) -> str:
        return f"{config.group_id}-{self.agent}-{partition}"

    def uncommitted(self, events: Sequence[EventT]) -> list[EventT]:
        committed = _faust_commits()
        return [e for e in events if e.message.offset >= (committed.get(e.message.tp) or 0)]

    async def producer_for(self, partition: int) -> AIOKafkaProducer:
        """The partition's producer, started (once, whoever asks first)."""
        started = self.producers.get(partition)
        if started is None:
            started = self.producers[partition] = asyncio.ensure_future(self._start(partition))
        try:
            return await asyncio.shield(started)
        finally:
            if started.done() and (started.cancelled() or started.exception()):
                self.producers.pop(partition, None)  # the next batch tries again

    async def _start(self, partition: int) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            bootstrap_servers=config.broker_url.split(","),
            transactional_id=self.transactional_id(partition),
            enable_idempotence=True,
            acks="all",
            linger_ms=int(config.producer_linger * 1000),
            partitioner=default_partitioner,
        )
        try:
            await producer.start()  # aborts what an earlier producer of this id left open
        except BaseException:
            await producer.stop()
            raise
        return producer

    async def drop(self, partition: int) -> None:
        """Close a partition's producer (revoked, or failed): the next batch starts a new one."""
        started = self.producers.pop(partition, None)
        if started is None:
            return
        if not started.done():
            started.cancel()
            return
        if started.cancelled() or started.exception() is not None:
            return
        try:
            await started.result().stop()
        except Exception as exc:  # noqa: BLE001 - closing a producer that failed
            log.info("closing the transactional producer of partition %d: %s", partition, exc)

    async def on_revoked(self, *args: Any, **__: Any) -> None:
        """Faust's signal (app.on_partitions_revoked): its sender, and the partitions revoked."""
        mine = [tp for tp in args[-1] if tp.topic in self.topics]
        partitions = {tp.partition for tp in mine} & set(self.producers)
        await asyncio.gather(*(self.drop(partition) for partition in partitions))

    async def fence(self, assigned: Iterable[TP]) -> None:
        """Start the producers of the partitions assigned here, before their tables are
        recovered and their committed offsets read: each aborts what the partition's last owner
        left open and fences that owner, so no transaction of a worker still working on an old
        batch (a zombie) can commit after this worker has read the changelogs and offsets."""
        self.fenced.clear()
        partitions = sorted({tp.partition for tp in assigned if tp.topic in self.topics})
        started = await asyncio.gather(
            *(self.producer_for(partition) for partition in partitions), return_exceptions=True
        )
        for partition, result in zip(partitions, started, strict=True):
            if isinstance(result, BaseException):
                log.warning("%s could not fence partition %d: %s", self.agent, partition, result)

    async def handle(self, events: Sequence[EventT], handler: InTransactions) -> list[EventT]:
        """Handle the events in their partitions' transactions and commit them with their
        offsets; the events handled. Not handled: those committed already (when a batch is
        handled again after a failure), and those fetched before a rebalance (their partition
        may be another worker's now: a new producer here would fence that worker's)."""
        generation = app.consumer_generation_id
        if not await self._still_owner({e.message.partition for e in events}, generation):
            return []  # a rebalance: the partitions' owner reads them again from the commits
        current = [e for e in self.uncommitted(events) if e.message.generation_id == generation]
        batch = await self.begin(current)
        try:
            await handler(current, batch)
            commit = asyncio.ensure_future(batch.commit(_next_offsets(current)))
            try:
                await asyncio.shield(commit)
            except asyncio.CancelledError:
                # aiokafka goes on committing: undo only what its outcome says did not commit
                await asyncio.wait([commit])
                raise
        except BaseException:
            await batch.abort()
            raise
        return current

    async def _still_owner(self, partitions: set[int], generation: int) -> bool:
        """After a fence, whether this worker still owns the partitions: it waits for the group
        to say otherwise (a rebalance starts within a heartbeat or two) before it starts a new
        producer, which would fence the worker that took the partitions over."""
        fenced = [self.fenced[p] for p in partitions if p in self.fenced]
        if not fenced:
            return True
        deadline = max(fenced) + FENCED_WAIT_S
        while time.monotonic() < deadline:
            if app.rebalancing or app.consumer_generation_id != generation:
                return False
            await asyncio.sleep(0.1)
        for partition in partitions:
            self.fenced.pop(partition, None)
        return not app.rebalancing and app.consumer_generation_id == generation

    async def dead_letter(self, event: EventT, reason: str) -> None:
        """Dead-letter a record in its partition's transaction, with its offset."""

        async def in_transaction(events: Sequence[EventT], batch: BatchTransactions) -> None:
            for each in events:
                with in_transaction_of(batch.of(each)):
                    await send_to_dead_letters(each, reason)

        await self.handle([event], in_transaction)

    async def begin(self, events: Sequence[EventT]) -> BatchTransactions:
        """A transaction for each partition number of `events`, begun."""
        batch = BatchTransactions(self)
        try:
            for partition in sorted({event.message.partition for event in events}):
                await _partition_locks[(self.writes, partition)].acquire()
                batch.locked.append(partition)
                producer = await self.producer_for(partition)
                batch.transactions[partition] = Transaction(partition, producer)
                with _unusable_is_kafka_error(partition):
                    await producer.begin_transaction()
        except BaseException:
            await batch.abort()
            raise
        return batch


_sources: list[SourceTransactions] = []


def transactions_for(agent: str, topic: TopicT, writes: str) -> SourceTransactions | None:
    """An agent's transactions, with exactly-once (else None), following its assignment.
    `writes` names the tables it writes: agents that write the same ones take turns."""
    if not config.exactly_once:
        return None
    transactions = SourceTransactions(agent, topic.topics, writes)
    app.on_partitions_revoked.connect(transactions.on_revoked)
    _sources.append(transactions)
    return transactions


def install_exactly_once(tables: Sequence[TableT]) -> None:
    """What exactly-once changes in Faust, once the agents exist:
    - each table's changelog writes go in the current transaction, when there is one;
    - the offsets of the agents' topics are committed in transactions only: Faust's own commit
      of a lower offset, appended to the group's log after a transaction's offsets and before
      its commit marker, would win over them (the coordinator keeps the later of the two), and
      a batch committed once would be read again after a rebalance;
    - the partitions assigned are fenced before their tables are recovered: a transaction a
      zombie still had open is then aborted, or committed, before the changelogs and the
      committed offsets are read, never after."""
    _install_transactional_changelogs(tables)
    if getattr(Consumer, "_optout_exactly_once", False):
        return
    filter_committable = Consumer._filter_committable_offsets
    recover = TableManager.on_rebalance

    def _filter_committable_offsets(self: Consumer, tps: Iterable[TP]) -> dict[TP, int]:
        offsets = filter_committable(self, tps)  # also forgets acknowledgements behind them
        mine = {topic for source in _sources for topic in source.topics}
        return {tp: offset for tp, offset in offsets.items() if tp.topic not in mine}

    async def fence_then_recover(
        self: TableManager, assigned: set[TP], *args: Any, **kwargs: Any
    ) -> None:
        await asyncio.gather(*(source.fence(assigned) for source in _sources))
        await recover(self, assigned, *args, **kwargs)

    Consumer._filter_committable_offsets = _filter_committable_offsets  # type: ignore[method-assign]
    TableManager.on_rebalance = fence_then_recover  # type: ignore[method-assign]
    Consumer._optout_exactly_once = True  # type: ignore[attr-defined]


def _faust_commits() -> dict[TP, int | None]:
    """The group's commits as Faust knows them (read when a partition is assigned, and noted
    as Faust commits: here, as transactions commit)."""
    return cast(Any, app.consumer)._committed_offset


def _next_offsets(events: Sequence[EventT]) -> dict[TP, int]:
    """Per source partition, the offset to commit after `events`: past their last record and
    any transaction markers after it."""
    last: dict[TP, int] = {}
    for event in events:
        last[event.message.tp] = max(last.get(event.message.tp, -1), event.message.offset)
    return {tp: skipped.past(tp, offset + 1) for tp, offset in last.items()}


class BatchTransactions:
    """The transactions of one batch, one per partition number."""

    def __init__(self, owner: SourceTransactions) -> None:
        global _open_batches
        _open_batches += 1
        self.owner = owner
        self.transactions: dict[int, Transaction] = {}
        self.locked: list[int] = []
        self.ended = False

    def of(self, event: EventT) -> Transaction:
        return self.transactions[event.message.partition]

    async def commit(self, next_offsets: dict[TP, int]) -> None:
        """Commit every transaction with its source partitions' next offsets. One that fails is
        undone locally and aborted, and the first error raised (the others committed)."""
        pending = list(self.transactions.items())
        by_partition: dict[int, dict[TP, int]] = defaultdict(dict)
        for tp, offset in next_offsets.items():
            by_partition[tp.partition][tp] = offset
        results = await asyncio.gather(
            *(t.commit(by_partition[p], config.group_id) for p, t in pending),
            return_exceptions=True,
        )
        failures = []
        for (partition, _), result in zip(pending, results, strict=True):
            if isinstance(result, BaseException):
                failures.append(result)
                await self._abort(partition)
            else:
                del self.transactions[partition]
                _faust_commits().update(by_partition[partition])
        self._end()
        if failures:
            error = failures[0]
            raise error if isinstance(error, KafkaError) else KafkaError(repr(error))

    async def abort(self) -> None:
        """Undo every transaction of the batch not committed yet, and abort it."""
        try:
            for partition in list(self.transactions):
                await self._abort(partition)
        finally:
            self._end()

    async def _abort(self, partition: int) -> None:
        transaction = self.transactions.pop(partition)
        transaction.undo()
        try:
            await transaction.producer.abort_transaction()
        except Exception as exc:  # noqa: BLE001 - fenced or broken: a new producer fixes both
            log.warning(
                "%s: aborting the transaction of partition %d failed (%s); starting anew",
                self.owner.agent,
                partition,
                exc,
            )
            self.owner.fenced[partition] = time.monotonic()
            await self.owner.drop(partition)

    def _end(self) -> None:
        global _open_batches
        if not self.ended:
            self.ended = True
            _open_batches -= 1
            for partition in self.locked:
                _partition_locks[(self.owner.writes, partition)].release()


@contextmanager
def in_transaction_of(transaction: Transaction | None) -> Iterator[None]:
    """Records produced and table writes made inside go in `transaction`."""
    token = current_transaction.set(transaction)
    try:
        yield
    finally:
        current_transaction.reset(token)


def _install_transactional_changelogs(tables: Sequence[TableT]) -> None:
    for table in tables:
        send_changelog = table.send_changelog

        def send_in_transaction(
            partition: int | None,
            key: Any,
            value: Any,
            key_serializer: Any = None,
            value_serializer: Any = None,
            *,
            _table: TableT = table,
            _send: Any = send_changelog,
        ) -> Any:
            transaction = current_transaction.get()
            if not isinstance(transaction, Transaction) or partition is None:
                return _send(partition, key, value, key_serializer, value_serializer)
            transaction.write(_table, partition, key, value)
            # What Faust reads of the returned future: the partition the record goes to.
            return _table.changelog_topic.as_future_message(
                key=key, value=value, partition=partition, key_serializer="raw",
                value_serializer="raw", eager_partitioning=True,
            )  # fmt: skip

        table.send_changelog = send_in_transaction  # type: ignore[method-assign]


def state_was_left(tabledir: Path) -> bool:
    """At a worker's start: whether the worker before it stopped without finishing its
    transactions (killed, or crashed), so that its local stores may hold writes of
    transactions that aborted. If so they are removed, to be rebuilt from the changelogs,
    which hold committed writes only. Marks this worker as running either way."""
    mark = tabledir.parent / RUNNING_MARK
    left = mark.exists()
    if left and tabledir.exists():
        log.warning(
            "the last worker on %s did not stop cleanly: its table stores may hold writes of "
            "transactions that aborted; rebuilding them from the changelogs",
            tabledir,
        )
        shutil.rmtree(tabledir)
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.touch()
    return left


def stopped_cleanly(tabledir: Path) -> None:
    (tabledir.parent / RUNNING_MARK).unlink(missing_ok=True)
