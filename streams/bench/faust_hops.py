"""The pipeline's two hops as Faust agents that do no work: what Faust's consumer path costs.

`optout bench pipeline` runs these in a worker of their own (`optout worker --agents
bench-hops`). The first hop forwards each record to a second topic, the second produces two
records for each (as classify does a webhook event and a seen-mark). Both take their batches
and wait for the broker as intake and classify do (`streams/runtime/batches.py`); nothing is
decoded and no state is kept. Against the raw two-hop row this shows the cost of Faust's per-record
machinery; against the classify pipeline, the cost of the work itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

import faust
from faust.types import EventT

from optout.streams.app import app, produce, raw_topic
from optout.streams.runtime.batches import batches, handle_in_full
from optout.streams.topics import BENCH_FIRST_HOP_TOPIC, BENCH_OUTPUT_TOPICS, BENCH_SECOND_HOP_TOPIC

__all__ = ["first_hop_topic", "forward", "output_topics", "produce_two", "second_hop_topic"]

first_hop_topic = raw_topic(BENCH_FIRST_HOP_TOPIC)
second_hop_topic = raw_topic(BENCH_SECOND_HOP_TOPIC)
output_topics = [raw_topic(name) for name in BENCH_OUTPUT_TOPICS]


@app.agent(first_hop_topic)
async def forward(stream):  # type: ignore[no-untyped-def]
    async for events in batches(stream):
        await handle_in_full(_forward, events, "bench forward")


@app.agent(second_hop_topic)
async def produce_two(stream):  # type: ignore[no-untyped-def]
    async for events in batches(stream):
        await handle_in_full(_produce_two, events, "bench outputs")


async def _forward(events: Sequence[EventT]) -> None:
    await _send(events, [second_hop_topic])


async def _produce_two(events: Sequence[EventT]) -> None:
    await _send(events, output_topics)


async def _send(events: Sequence[EventT], topics: list[faust.TopicT]) -> None:
    acks = [
        await produce(t, cast(bytes, event.key), cast(bytes, event.value))
        for event in events
        for t in topics
    ]
    await asyncio.gather(*acks)
