"""Intake and classify take batches straight from their topic's queue (streams/runtime/batches.py):
what has arrived, up to the batch size; events of an earlier group generation or taken during a
rebalance dropped unacknowledged, to be read again; the rest tracked for the rebalance to wait
on, and acknowledged only after the loop body that handled them."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from faust.types import TP

from optout.streams.runtime import batches

GENERATION = 7


class Event:
    def __init__(self, offset: int, generation: int = GENERATION) -> None:
        self.message = SimpleNamespace(
            tp=TP("inbound-messages", 0), offset=offset, generation_id=generation, tracked=False
        )
        self.acked = False

    def ack(self) -> bool:
        self.acked = True
        return True


class App:
    def __init__(self) -> None:
        self.rebalancing = False
        self.consumer_generation_id = GENERATION
        self.tracked: list[int] = []
        self.flow_control = SimpleNamespace(is_active=lambda: not self.rebalancing)
        self.consumer = SimpleNamespace(track_message=lambda m: self.tracked.append(m.offset))


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> App:
    fake = App()
    monkeypatch.setattr(batches, "app", fake)
    monkeypatch.setattr(batches, "config", SimpleNamespace(batch_size=3))
    in_order = batches.InOrder(committed_offset=lambda tp: 0, seek=_no_seek)
    monkeypatch.setattr(batches, "in_order", in_order)
    return fake


async def _no_seek(tp: TP, offset: int) -> None:
    raise AssertionError(f"no offset should be missing, sought {tp} {offset}")


def taken(events: list[Event], app: App) -> list[list[int]]:
    """The offsets of each batch `batches` yields for `events`, all queued before it starts,
    checking that a batch is acknowledged only after its loop body."""

    async def run() -> list[list[int]]:
        queue: asyncio.Queue = asyncio.Queue()
        for event in events:
            queue.put_nowait(event)
        stream = SimpleNamespace(channel=SimpleNamespace(queue=queue))
        offsets: list[list[int]] = []
        async for batch in batches.batches(stream):  # type: ignore[arg-type]
            assert not any(event.acked for event in batch)
            offsets.append([event.message.offset for event in batch])
            if queue.empty():
                break
        return offsets

    return asyncio.run(run())


def test_a_batch_is_what_has_arrived_up_to_the_batch_size(app: App) -> None:
    events = [Event(offset) for offset in range(7)]
    assert taken(events, app) == [[0, 1, 2], [3, 4, 5], [6]]
    assert app.tracked == list(range(7))
    assert all(event.acked for event in events[:6])  # the last batch's body did not finish


def test_events_of_an_earlier_generation_are_dropped_unacknowledged(app: App) -> None:
    stale = Event(0, generation=GENERATION - 1)
    assert taken([stale, Event(0), Event(1)], app) == [[0, 1]]
    assert not stale.acked and app.tracked == [0, 1]


def test_events_taken_during_a_rebalance_are_dropped_unacknowledged(app: App) -> None:
    checks = iter([False] * 3)  # the rebalance ends after the first three events
    app.flow_control = SimpleNamespace(is_active=lambda: next(checks, True))
    during = [Event(0), Event(1), Event(2)]
    assert taken([*during, Event(0), Event(1)], app) == [[0, 1]]
    assert not any(event.acked for event in during) and app.tracked == [0, 1]
