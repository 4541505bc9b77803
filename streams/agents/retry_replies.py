"""Reply retries: one agent per retry tier (outbound-replies-retry-1, -2, -3).

Each agent waits until an envelope is due (about 10, 60 and 300 s by tier; see
streams/rules/retry_schedule.py), then delivers it as `deliver_reply` does. A further failure
moves it to the next tier; after the last, to dead letters. One agent per tier, so a record
waiting five minutes never holds up one that is due now.
"""

from __future__ import annotations

from faust.types import StreamT

from optout.streams.agents.deliver_reply import handle_reply
from optout.streams.app import app
from optout.streams.sinks.http_delivery import retry_each, retry_topics
from optout.streams.topics import REPLIES_TOPIC

__all__ = ["retry_replies_tier_1", "retry_replies_tier_2", "retry_replies_tier_3"]


async def retry(stream: StreamT) -> None:
    await retry_each(stream, handle_reply, acks_itself=False)


tier_1, tier_2, tier_3 = retry_topics[REPLIES_TOPIC]


@app.agent(tier_1, name="outbound-replies-retry-1-agent")
async def retry_replies_tier_1(stream: StreamT) -> None:
    await retry(stream)


@app.agent(tier_2, name="outbound-replies-retry-2-agent")
async def retry_replies_tier_2(stream: StreamT) -> None:
    await retry(stream)


@app.agent(tier_3, name="outbound-replies-retry-3-agent")
async def retry_replies_tier_3(stream: StreamT) -> None:
    await retry(stream)
