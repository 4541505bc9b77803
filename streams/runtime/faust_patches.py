"""Changes to Faust's consumer, installed in every worker.

1. Commits past a message in flight. Faust 0.15.3 commits past a message that is still being
processed when it is the only one missing at the head of a partition: with offsets below 10
committed, 10 in flight and 11 and 12 acknowledged, it commits 13 (faust-streaming/faust#606,
fix proposed in #707). A worker that dies before finishing 10 then never sees it again. Agents
that acknowledge out of order (webhook deliveries run concurrently) hit this; so does any agent
after a failed event. Here, when the next offset to commit is not acknowledged, nothing is
committed until it is.

2. Four tasks per record. Faust's fetcher hands each record to the agents' queues with
`wait_first(deliver(record), suspend_flow.wait())`, so that a rebalance can cut short a delivery
that waits (on a full queue, on suspended flow control; faust-streaming/faust#253). That makes
four tasks and a round of the event loop for every record, waiting or not. Here the delivery
runs at once, as far as it can without waiting; most records are in their queue by then. Only a
delivery that has to wait goes on under `wait_first`, as before, and can be cut short.
`optout bench pipeline`, two runs each way, alternating: the two hops as agents doing no work
2,846 and 2,296 events/s before, 4,250 and 7,740 after; the classify pipeline 1,591 and 1,300
before, 2,300 and 2,139 after.

3. A seek undone by records in flight. Faust's fetcher hands records over one by one and notes
the offset of each as read; a record below the read offset is dropped without a word ("DROPPED
MESSAGE ROFF", a debug line). When an agent seeks a partition back (InOrder reading it again
from a missing offset, or a stalled partition read again, streams/runtime/stalls.py), records
fetched before the seek may still be handed over after it, each raising the read offset past
the seek; the records read again from there are then all dropped, and the partition goes
silent while records wait (seen by an independent probe: a takeover's partition silent for
90 s after "reading from it again"). Here a seek holds the read offset at its offset until the
record at that offset is read.

4. A partition never committed, read past in a rebalance. While partitions move, Faust's fetcher
drops the records it fetched (flow suspended, generation changed) and relies on the seek to the
committed offsets that ends the rebalance to read them again. aiokafka's `seek_to_committed`
leaves a partition with no commit (or a commit of 0) where its fetch position is, so those
records are never read: a worker that took over a partition whose first owner died before its
first commit skipped every record fetched during recovery (on Apache Kafka, the two-workers
failover test lost 11 of 24 STOPs sent meanwhile, with lag 0 and nothing for the stall watch to
see). Here such a partition of an agent's topic is read from its beginning, where
`consumer_auto_offset_reset` ("earliest") starts a partition without a commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Coroutine, Generator, Mapping
from typing import Any

from aiokafka.errors import IllegalStateError
from faust.transport.consumer import Consumer, ThreadDelegateConsumer, ensure_TP
from faust.transport.drivers.aiokafka import ensure_aiokafka_TP
from faust.types import TP
from mode.services import WaitResults

__all__ = [
    "ReadOffsets",
    "Resumed",
    "install_commit_fix",
    "install_eager_delivery",
    "install_seek_that_holds",
    "install_uncommitted_from_start",
]

log = logging.getLogger(__name__)


def install_commit_fix() -> None:
    if getattr(Consumer, "_optout_commit_fix", False):
        return
    new_offset = Consumer._new_offset

    def _new_offset(self: Consumer, tp: TP) -> int | None:
        committed, acked = self._committed_offset[tp], self._acked[tp]
        if committed is not None and acked and not self._gap[tp] and min(acked) > committed:
            return None  # the message at `committed` is not done
        return new_offset(self, tp)

    Consumer._new_offset = _new_offset  # type: ignore[method-assign]
    Consumer._optout_commit_fix = True  # type: ignore[attr-defined]


def install_eager_delivery() -> None:
    if getattr(Consumer, "_optout_eager_delivery", False):
        return
    wait_first = Consumer.wait_first

    async def eager_wait_first(self: Consumer, *coros: Any, timeout: Any = None) -> WaitResults:
        first, others = coros[0], coros[1:]
        if not asyncio.iscoroutine(first):
            return await wait_first(self, *coros, timeout=timeout)
        try:
            waiting_on = first.send(None)
        except StopIteration as done:
            _close(others)
            if self._stopped.is_set() or self._crashed.is_set():
                return WaitResults([], [], True)
            return WaitResults([first], [done.value], False)
        except BaseException:
            _close(others)
            raise
        return await wait_first(self, Resumed(first, waiting_on), *others, timeout=timeout)

    Consumer.wait_first = eager_wait_first  # type: ignore[method-assign,assignment]
    Consumer._optout_eager_delivery = True  # type: ignore[attr-defined]


class Resumed:
    """A coroutine that was started by hand and is waiting on `waiting_on`, awaitable again:
    the task that awaits it waits on the same future and then drives the coroutine on (a
    cancellation is thrown into it)."""

    def __init__(self, coro: Coroutine, waiting_on: Any) -> None:
        self.coro = coro
        self.waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, Any]:
        waiting_on = self.waiting_on
        while True:
            try:
                sent = yield waiting_on
            except GeneratorExit:
                self.coro.close()
                raise
            except BaseException as exc:
                try:
                    waiting_on = self.coro.throw(exc)
                except StopIteration as done:
                    return done.value
                continue
            try:
                waiting_on = self.coro.send(sent)
            except StopIteration as done:
                return done.value


def _close(coros: tuple[Any, ...]) -> None:
    """Close coroutines that will not run (no "never awaited" warning)."""
    for coro in coros:
        if asyncio.iscoroutine(coro):
            coro.close()


class ReadOffsets(defaultdict):
    """Faust's last read offset per partition (None: none), held at a seek's offset until the
    record at that offset is read: a record fetched before the seek does not raise it."""

    def __init__(self) -> None:
        super().__init__(lambda: None)
        self.sought: dict[TP, int] = {}

    def hold(self, tp: TP, offset: int) -> None:
        self.sought[tp] = offset
        super().__setitem__(tp, offset if offset else None)

    def __setitem__(self, tp: TP, offset: int | None) -> None:
        held = self.sought.get(tp)
        if held is not None and offset is not None:
            if offset > held:
                return  # fetched before the seek: the records from `held` must get through
            if offset == held:
                del self.sought[tp]
        super().__setitem__(tp, offset)

    def pop(self, tp: TP, default: Any = None) -> Any:
        self.sought.pop(tp, None)
        return super().pop(tp, default)

    def update(self, *args: Any, **kwargs: Any) -> None:  # a rebalance's seek to the commits
        changed: Mapping[TP, int | None] = dict(*args, **kwargs)
        for tp in changed:
            self.sought.pop(tp, None)
        super().update(changed)


def install_seek_that_holds() -> None:
    if getattr(Consumer, "_optout_seek_holds", False):
        return
    init, seek = Consumer.__init__, Consumer.seek

    def __init__(self: Consumer, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._read_offset = ReadOffsets()

    async def seek_and_hold(self: Consumer, partition: TP, offset: int) -> None:
        await seek(self, partition, offset)
        if isinstance(self._read_offset, ReadOffsets):
            self._read_offset.hold(ensure_TP(partition), offset)

    Consumer.__init__ = __init__  # type: ignore[method-assign]
    Consumer.seek = seek_and_hold  # type: ignore[method-assign]
    Consumer._optout_seek_holds = True  # type: ignore[attr-defined]


def install_uncommitted_from_start() -> None:
    if getattr(ThreadDelegateConsumer, "_optout_uncommitted_from_start", False):
        return
    seek_to_committed = ThreadDelegateConsumer.seek_to_committed

    async def seek_to_committed_or_start(self: ThreadDelegateConsumer) -> Mapping[TP, int]:
        # What the broker said, not Faust's cache of it: a commit that failed in a rebalance
        # still writes the cache.
        committed = await seek_to_committed(self)
        never_committed = [
            ensure_TP(tp)
            for tp, offset in committed.items()
            if not offset and not self._is_changelog_tp(ensure_TP(tp))
        ]
        if never_committed:
            log.info("reading from the start (no offset committed): %s", _names(never_committed))
            try:
                await self._thread.seek_to_beginning(*map(ensure_aiokafka_TP, never_committed))
            except IllegalStateError as exc:  # revoked meanwhile: the next rebalance seeks again
                log.warning("could not read %s from the start: %s", _names(never_committed), exc)
        return committed

    ThreadDelegateConsumer.seek_to_committed = seek_to_committed_or_start  # type: ignore[method-assign]
    ThreadDelegateConsumer._optout_uncommitted_from_start = True  # type: ignore[attr-defined]


def _names(tps: list[TP]) -> str:
    return ", ".join(f"{tp.topic}:{tp.partition}" for tp in sorted(tps))
