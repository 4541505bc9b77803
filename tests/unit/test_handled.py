"""How far classify has handled its partitions, as the gate and consent answers read it."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from aiokafka.errors import KafkaConnectionError
from faust.types import TP, RecordMetadata

from optout.streams.agents import gate
from optout.streams.app import app, config
from optout.streams.exceptions import RebalanceUnderWay
from optout.streams.runtime import handled
from optout.streams.runtime.assignment import assignment
from optout.streams.runtime.handled import HandledOffsets

INBOUND = [TP("inbound-messages", p) for p in range(4)]


class Event:
    def __init__(self, tp: TP, offset: int) -> None:
        self.message = type(
            "Message", (), {"tp": tp, "offset": offset, "partition": tp.partition}
        )()


def test_handled_is_what_was_marked_or_committed_never_what_was_only_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    committed: dict[TP, int] = {}
    read: dict[TP, int] = {}
    monkeypatch.setattr(cast(Any, app.consumer), "_committed_offset", committed)
    monkeypatch.setattr(cast(Any, app.consumer), "_read_offset", read)
    offsets = HandledOffsets("classify")
    tp = INBOUND[0]
    read[tp] = 40  # in the agent's queue, not classified
    assert offsets.handled_up_to(tp) == 0
    committed[tp] = 10
    assert offsets.handled_up_to(tp) == 10
    offsets.mark([Event(tp, 14)])  # type: ignore[list-item]
    assert offsets.handled_up_to(tp) == 15
    committed[tp] = 30  # another worker got further before this one took over
    assert offsets.handled_up_to(tp) == 30


def test_own_rekeyed_ends_count_only_while_every_inbound_partition_is_here_and_settled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    offsets = HandledOffsets("classify")
    offsets.note_rekeyed([RecordMetadata("inbound-by-user", 2, TP("inbound-by-user", 2), 7, 0, 0)])
    assert offsets.rekeyed_ends == {TP("inbound-by-user", 2): 8}
    here: frozenset[TP] = frozenset(INBOUND)
    monkeypatch.setattr(handled.assignment, "assigned", lambda: here)
    monkeypatch.setattr(app, "rebalancing", False)
    monkeypatch.setattr(app, "rebalancing_count", 3)
    before = offsets.all_local(INBOUND)
    assert before == 3
    monkeypatch.setattr(app, "rebalancing_count", 4)  # a rebalance began and ended meanwhile
    assert offsets.all_local(INBOUND) != before
    monkeypatch.setattr(app, "rebalancing", True)
    assert offsets.all_local(INBOUND) is None
    monkeypatch.setattr(app, "rebalancing", False)
    here = frozenset(INBOUND[1:])  # one partition classified elsewhere
    assert offsets.all_local(INBOUND) is None


def test_a_wait_ends_when_a_rebalance_begins_for_the_rebalance_waits_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rebalance waits for every record in hand to be acknowledged; a gate batch waiting for
    another worker's partitions would hold it forever (an independent harness saw two workers
    stuck so after a kill), so the wait gives way."""
    monkeypatch.setattr(cast(Any, app.consumer), "_committed_offset", {})
    monkeypatch.setattr(handled.assignment, "assigned", lambda: frozenset(INBOUND))
    monkeypatch.setattr(app, "rebalancing", True)
    with pytest.raises(RebalanceUnderWay):
        asyncio.run(HandledOffsets("classify").wait_for({INBOUND[0]: 5}))


def test_a_gate_batch_cut_short_by_a_rebalance_puts_its_sends_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handed_back: list[object] = []

    async def rebalancing(partitions: set[int], asked: object) -> None:
        raise RebalanceUnderWay("a rebalance began")

    async def hand_back(event: object) -> None:
        handed_back.append(event)

    monkeypatch.setattr(gate, "wait_for_inbound", rebalancing)
    monkeypatch.setattr(gate, "hand_back", hand_back)
    events = [Event(TP("outbound-messages", 1), n) for n in range(3)]
    asyncio.run(gate.gate_batch(events))  # type: ignore[arg-type]
    assert handed_back == events


def test_ends_asked_ahead_serve_only_the_sends_read_before_they_were_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sends, other = TP("outbound-messages", 1), TP("outbound-messages", 2)
    read = {sends: 41, TP("inbound-messages", 1): 7}
    monkeypatch.setattr(cast(Any, app.consumer), "_read_offset", read)
    asked_for: list[set[TP]] = []

    async def ends(tps: list[TP]) -> dict[TP, int]:
        asked_for.append(set(tps))
        return {tp: 0 for tp in tps}

    monkeypatch.setattr(handled.broker_ends, "ends", ends)

    async def scenario() -> None:
        ahead = handled.ask_inbound_ends(assignment.read_offsets("outbound-messages"))
        assert ahead.read == {sends: 41}
        assert ahead.cover([Event(sends, 40), Event(sends, 41)])  # type: ignore[list-item]
        assert not ahead.cover([Event(sends, 41), Event(sends, 42)])  # type: ignore[list-item]
        assert not ahead.cover([Event(other, 0)])  # type: ignore[list-item]
        await ahead.ends
        # Every inbound partition and every partition a send may be re-keyed to.
        assert asked_for == [{TP(t, p) for t in handled_topics for p in range(config.partitions)}]

    handled_topics = ("inbound-messages", "inbound-by-user")
    asyncio.run(scenario())


def test_a_batch_whose_ends_asked_ahead_failed_asks_the_broker_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sizes: list[int] = []

    async def ends(tps: list[TP]) -> dict[TP, int]:
        sizes.append(len(tps))
        return {tp: 0 for tp in tps}

    monkeypatch.setattr(handled.broker_ends, "ends", ends)

    async def scenario() -> None:
        failed: asyncio.Future[dict[TP, int]] = asyncio.get_running_loop().create_future()
        failed.set_exception(KafkaConnectionError("broker gone"))
        await handled.wait_for_inbound({1}, handled.InboundEnds({}, None, failed))

    asyncio.run(scenario())
    # Every inbound-messages partition and the send's inbound-by-user one; then that one again
    # (no worker here classifies every inbound partition).
    assert sizes == [config.partitions + 1, 1]
