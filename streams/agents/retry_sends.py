"""Send retries: one agent per retry tier (carrier-sends-retry-1, -2, -3), as for replies
(agents/retry_replies.py): each waits until an envelope is due, then delivers it as
`deliver_send` does, reading the block list again first."""

from __future__ import annotations

from faust.types import StreamT

from optout.streams.agents.deliver_send import handle_send
from optout.streams.app import app
from optout.streams.sinks.http_delivery import retry_each, retry_topics
from optout.streams.topics import CARRIER_SENDS_TOPIC

__all__ = ["retry_sends_tier_1", "retry_sends_tier_2", "retry_sends_tier_3"]


async def retry(stream: StreamT) -> None:
    await retry_each(stream, handle_send, acks_itself=False)


tier_1, tier_2, tier_3 = retry_topics[CARRIER_SENDS_TOPIC]


@app.agent(tier_1, name="carrier-sends-retry-1-agent")
async def retry_sends_tier_1(stream: StreamT) -> None:
    await retry(stream)


@app.agent(tier_2, name="carrier-sends-retry-2-agent")
async def retry_sends_tier_2(stream: StreamT) -> None:
    await retry(stream)


@app.agent(tier_3, name="carrier-sends-retry-3-agent")
async def retry_sends_tier_3(stream: StreamT) -> None:
    await retry(stream)
