"""The broker's end offsets now, and how far the service's consumer group has committed, asked
of the broker by a consumer of their own (no group membership, never committing).

The send gate must not run ahead of classify: a send is gated only after every inbound message
the broker held when the gate was about to gate it is classified (agents/gate.py). Faust's own
consumer knows only the high watermark of its last fetch, which can be older than a STOP
acknowledged since; this asks the broker. Apache Kafka answers ListOffsets(latest) right; the
embedded broker does not (quirk 2 in streams/embedded/tansu_quirks.py), so in embedded mode the
answer is corrected: by the high watermark the worker's own consumer last fetched, when no record
batch has begun since, else by a fetch from just below it, whose high watermark is right.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.types import TP

from optout.streams.app import config
from optout.streams.runtime.assignment import assignment

__all__ = ["COMMITS_MAX_AGE_SECONDS", "BrokerEnds", "broker_ends"]

CORRECTION_FETCH_MS = 10  # the embedded broker holds a fetch this long (quirk 1)
COMMITS_MAX_AGE_SECONDS = 0.2


class BrokerEnds:
    """End offsets (last offset + 1) and the group's committed offsets, from the broker."""

    def __init__(self, bootstrap: str, group_id: str, embedded: bool) -> None:
        self.bootstrap, self.group_id, self.embedded = bootstrap, group_id, embedded
        # No group; assigned every partition asked about, paused, so that its metadata knows their
        # leaders (asking for one it does not know costs a metadata round and a backoff).
        self._ends: AIOKafkaConsumer | None = None
        self._assigned: set[TopicPartition] = set()
        self._commits: AIOKafkaConsumer | None = None  # the group's, never assigned anything
        self._commits_lock = asyncio.Lock()
        self._known_commits: dict[TP, int] = {}
        self._commits_at: dict[TP, float] = {}
        # The next request, not begun yet: its answer and the partitions it will ask about.
        self._next: tuple[asyncio.Future, set[TP]] | None = None
        self._asking: asyncio.Task | None = None

    async def ends(self, tps: Iterable[TP]) -> dict[TP, int]:
        """The end offset of each partition, from a request to the broker begun after this call
        was made. Callers share requests: those that come while one is under way join the next,
        made as soon as it returns (so each waits two round trips at most, and the broker gets
        one request at a time however many lookups and gate batches ask)."""
        wanted = set(tps)
        if self._next is None:
            self._next = (asyncio.get_running_loop().create_future(), set())
        answer, asked = self._next
        asked |= wanted
        if self._asking is None or self._asking.done():
            self._asking = asyncio.ensure_future(self._ask_while_wanted())
        ends = await asyncio.shield(answer)
        return {tp: ends[tp] for tp in wanted}

    async def _ask_while_wanted(self) -> None:
        while self._next is not None:
            (answer, asked), self._next = self._next, None
            try:
                answer.set_result(await self._ask(asked))
            except asyncio.CancelledError:
                answer.cancel()
                raise
            except Exception as exc:
                answer.set_exception(exc)

    async def _ask(self, tps: Iterable[TP]) -> dict[TP, int]:
        wanted = [TopicPartition(tp.topic, tp.partition) for tp in tps]
        consumer = await self._tracking(wanted)  # one request at a time: `_ask_while_wanted`
        ends = await consumer.end_offsets(wanted)
        if self.embedded:
            ends = await self._corrected(consumer, ends)
        return {TP(tp.topic, tp.partition): offset for tp, offset in ends.items()}

    async def stop(self) -> None:
        """Close its consumers (a worker's end with the process)."""
        if self._asking is not None:
            self._asking.cancel()
        if self._next is not None:  # callers waiting for a request that will not be made
            self._next[0].cancel()
            self._next = None
        for consumer in (self._ends, self._commits):
            if consumer is not None:
                await consumer.stop()
        self._ends = self._commits = None

    async def _tracking(self, wanted: list[TopicPartition]) -> AIOKafkaConsumer:
        if self._ends is None:
            self._ends = await _started(self.bootstrap, None)
        if not self._assigned.issuperset(wanted):
            self._assigned.update(wanted)
            self._ends.assign(sorted(self._assigned))
            self._ends.pause(*self._assigned)  # it fetches only when a correction asks
        return self._ends

    async def committed(self, tps: Iterable[TP]) -> dict[TP, int]:
        """The next offset the service's group will read on each partition (0: none committed),
        as the broker said at most COMMITS_MAX_AGE_SECONDS ago: commits only grow, so an answer
        a moment old is still a lower bound, and waiters polling together ask the broker once."""
        wanted = list(tps)
        async with self._commits_lock:
            now = time.monotonic()
            stale = [
                tp
                for tp in wanted
                if now - self._commits_at.get(tp, -1e9) > COMMITS_MAX_AGE_SECONDS
            ]
            if stale:
                if self._commits is None:
                    self._commits = await _started(self.bootstrap, self.group_id)
                for tp in stale:
                    found = await self._commits.committed(TopicPartition(tp.topic, tp.partition))
                    self._known_commits[tp], self._commits_at[tp] = found or 0, now
            return {tp: self._known_commits[tp] for tp in wanted}

    async def _corrected(
        self, consumer: AIOKafkaConsumer, reported: dict[TopicPartition, int]
    ) -> dict[TopicPartition, int]:
        """The embedded broker's ends: what the worker's consumer last fetched where no record
        batch has begun since (the broker reports one past the last batch's first offset), else
        the high watermark of a fetch from just below each."""
        assigned = assignment.assigned()
        fetched = {
            tp: assignment.highwater(TP(tp.topic, tp.partition)) or 0
            for tp in reported
            if TP(tp.topic, tp.partition) in assigned
        }
        reported = reported | {tp: end for tp, end in fetched.items() if end >= reported[tp]}
        partitions = [tp for tp, end in reported.items() if end and fetched.get(tp) != end]
        if not partitions:
            return reported
        for tp in partitions:
            consumer.seek(tp, reported[tp] - 1)
        consumer.resume(*partitions)
        try:
            # Until the record at reported - 1 came back: the high watermark is then this fetch's.
            while [tp for tp in partitions if await consumer.position(tp) < reported[tp]]:
                await consumer.getmany(*partitions, timeout_ms=CORRECTION_FETCH_MS)
            return reported | {
                tp: max(reported[tp], consumer.highwater(tp) or 0) for tp in partitions
            }
        finally:
            consumer.pause(*partitions)


async def _started(bootstrap: str, group_id: str | None) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group_id,  # to read its commits: it never joins the group nor commits
        enable_auto_commit=False,
        # Its ends are the last stable offsets: what a consumer reading committed can reach.
        isolation_level="read_committed",
        fetch_max_wait_ms=CORRECTION_FETCH_MS,
    )
    await consumer.start()
    return consumer


broker_ends = BrokerEnds(config.broker_url, config.group_id, config.embedded_broker)
