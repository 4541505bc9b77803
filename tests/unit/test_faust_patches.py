"""Changes to Faust's consumer every worker has: no commit past a message in flight; records
delivered to their queues at once, a delivery that has to wait still cut short by a rebalance;
a seek back held; a partition never committed read from its start after a rebalance."""

from __future__ import annotations

import asyncio
import warnings
from collections import defaultdict
from collections.abc import Callable
from types import SimpleNamespace

from faust.transport.consumer import Consumer, ThreadDelegateConsumer
from faust.types import TP
from intervaltree import IntervalTree
from mode import Service
from mode.services import WaitResults

from optout.streams.runtime.faust_patches import (
    ReadOffsets,
    install_commit_fix,
    install_eager_delivery,
    install_uncommitted_from_start,
)

TP0 = TP("inbound-messages", 0)


def consumer_state(committed: int | None, acked: list[int]) -> SimpleNamespace:
    """What Consumer._new_offset reads: the committed offset (the next one to process) and the
    acknowledged offsets of one partition."""
    state = SimpleNamespace(
        _committed_offset=defaultdict(lambda: None),
        _acked=defaultdict(list),
        _acked_index=defaultdict(set),
        _gap=defaultdict(IntervalTree),
    )
    state._committed_offset[TP0] = committed
    state._acked[TP0] = list(acked)
    state._acked_index[TP0] = set(acked)
    return state


def test_nothing_is_committed_while_the_next_message_is_in_flight() -> None:
    install_commit_fix()
    assert Consumer._new_offset(consumer_state(10, [11, 12]), TP0) is None


def test_once_it_is_acknowledged_everything_up_to_the_next_gap_is_committed() -> None:
    install_commit_fix()
    assert Consumer._new_offset(consumer_state(10, [10, 11, 12, 14]), TP0) == 13
    assert Consumer._new_offset(consumer_state(None, [0, 1, 2]), TP0) == 3


# Eager delivery: Faust's fetcher calls consumer.wait_first(deliver(record), suspend_flow.wait()).


class Delivery:
    """A record's delivery: into its queue, waiting for room when the queue is full."""

    def __init__(self, queue: asyncio.Queue) -> None:
        self.queue = queue
        self.cancelled = False

    async def __call__(self, record: str) -> str:
        try:
            await self.queue.put(record)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return record


def deliver(
    record: str, queue: asyncio.Queue, meanwhile: Callable[[asyncio.Event], None]
) -> tuple[Delivery, WaitResults, int]:
    """Deliver `record` as Faust's fetcher does, calling `meanwhile(suspend_flow)` once the
    delivery has had a turn of the event loop: the delivery, the fetcher's results and how
    many other tasks were still running after that turn."""
    install_eager_delivery()

    async def fetcher() -> tuple[Delivery, WaitResults, int]:
        consumer, suspend_flow, delivery = Service(), asyncio.Event(), Delivery(queue)
        waiting = asyncio.ensure_future(
            Consumer.wait_first(consumer, delivery(record), suspend_flow.wait())
        )
        await asyncio.sleep(0)
        tasks = len(asyncio.all_tasks()) - 1  # but this one
        meanwhile(suspend_flow)
        return delivery, await asyncio.wait_for(waiting, 1.0), tasks

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "coroutine 'Event.wait' was never awaited"
        return asyncio.run(fetcher())


def test_a_record_with_room_in_its_queue_is_delivered_at_once() -> None:
    queue: asyncio.Queue = asyncio.Queue(maxsize=1)
    delivery, results, tasks = deliver("r1", queue, meanwhile=lambda suspend_flow: None)
    assert queue.get_nowait() == "r1"
    assert results.results == ["r1"] and not results.stopped
    assert tasks == 0  # done within the fetcher's step (Faust's wait_first: five tasks running)


def test_a_delivery_waiting_on_a_full_queue_is_cut_short_by_a_rebalance() -> None:
    queue: asyncio.Queue = asyncio.Queue(maxsize=1)
    queue.put_nowait("r0")
    delivery, results, tasks = deliver("r1", queue, meanwhile=asyncio.Event.set)
    assert delivery.cancelled
    assert results.results == [True]  # suspend_flow.wait() won
    assert queue.qsize() == 1 and queue.get_nowait() == "r0"


def test_a_delivery_waiting_on_a_full_queue_goes_on_once_there_is_room() -> None:
    queue: asyncio.Queue = asyncio.Queue(maxsize=1)
    queue.put_nowait("r0")
    delivery, results, tasks = deliver("r1", queue, meanwhile=lambda _: queue.get_nowait())
    assert results.results == ["r1"] and not delivery.cancelled
    assert queue.get_nowait() == "r1"


def test_a_seek_back_is_held_until_its_record_is_read_again() -> None:
    """Records fetched before the seek, handed over after it, do not raise the read offset: the
    records read again from the seek's offset get through Faust's `offset >= read` check."""
    tp = TP("inbound-messages", 1)
    read = ReadOffsets()
    read[tp] = 1300
    read.hold(tp, 1106)  # InOrder read it again from the missing offset 1106
    for in_flight in (1301, 1302):
        read[tp] = in_flight
    assert read[tp] == 1106
    read[tp] = 1106  # the record at the seek's offset, read again
    read[tp] = 1107
    assert read[tp] == 1107 and read.sought == {}


def test_a_rebalance_seek_or_a_revoke_releases_the_hold() -> None:
    tp = TP("inbound-messages", 2)
    read = ReadOffsets()
    read.hold(tp, 10)
    read.update({tp: 40})
    read[tp] = 41
    assert read[tp] == 41
    read.hold(tp, 50)
    read.pop(tp)
    read[tp] = 60
    assert read[tp] == 60


def test_after_a_rebalance_a_partition_never_committed_is_read_from_its_start() -> None:
    """The rebalance's seek to the committed offsets leaves a partition without a commit where
    records fetched (and dropped) during the rebalance put it; it is read from its start, as
    the broker's answer says (not Faust's cache), a committed one and a changelog left alone."""
    install_uncommitted_from_start()
    committed = {
        TP("inbound-messages", 0): 1106,
        TP("inbound-messages", 2): None,
        TP("inbound-messages", 3): 0,
        TP("blocklist-changelog", 2): None,
    }
    from_start: list = []

    async def seek_to_committed() -> dict:
        return committed

    async def seek_to_beginning(*partitions: object) -> None:
        from_start.extend(partitions)

    consumer = SimpleNamespace(
        _is_changelog_tp=lambda tp: tp.topic.endswith("-changelog"),
        _thread=SimpleNamespace(
            seek_to_committed=seek_to_committed, seek_to_beginning=seek_to_beginning
        ),
    )
    answer = asyncio.run(ThreadDelegateConsumer.seek_to_committed(consumer))  # type: ignore[arg-type]
    assert answer == committed
    assert sorted((tp.topic, tp.partition) for tp in from_start) == [
        ("inbound-messages", 2),
        ("inbound-messages", 3),
    ]
