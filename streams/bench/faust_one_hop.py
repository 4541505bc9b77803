"""Classify's one hop as a Faust agent that does no work: what Faust's consumer path costs for
the pipeline's shape since classify reads `inbound-messages` itself.

`optout bench pipeline` runs it in a worker of its own (`optout worker --agents bench-one-hop`):
it takes its batches and waits for the broker as classify does (`streams/runtime/batches.py`) and
produces two records for each (as classify does a webhook event and, for a message with effects,
a reply); nothing is decoded and no state is kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

from faust.types import EventT

from optout.streams.app import app, produce, raw_topic
from optout.streams.runtime.batches import batches, handle_in_full
from optout.streams.topics import BENCH_ONE_HOP_OUTPUT_TOPICS, BENCH_ONE_HOP_TOPIC

__all__ = ["one_hop", "one_hop_topic", "output_topics"]

one_hop_topic = raw_topic(BENCH_ONE_HOP_TOPIC)
output_topics = [raw_topic(name) for name in BENCH_ONE_HOP_OUTPUT_TOPICS]


@app.agent(one_hop_topic)
async def one_hop(stream):  # type: ignore[no-untyped-def]
    async for events in batches(stream):
        await handle_in_full(_produce_two, events, "bench one hop")


async def _produce_two(events: Sequence[EventT]) -> None:
    acks = [
        await produce(topic, cast(bytes, event.key), cast(bytes, event.value))
        for event in events
        for topic in output_topics
    ]
    await asyncio.gather(*acks)
