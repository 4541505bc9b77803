"""Webhook retries: one agent per retry tier (customer-webhook-retry-1, -2, -3).

Each agent waits until an envelope is due (about 10, 60 and 300 s by tier; see
streams/rules/retry_schedule.py), then delivers it as `deliver_webhook` does. A further failure
moves it to the next tier; after the last, to dead letters. One agent per tier, so a record
waiting five minutes never holds up one that is due now.
"""

from __future__ import annotations

from faust.types import StreamT

from optout.streams.agents.deliver_webhook import handle_webhook
from optout.streams.app import app
from optout.streams.sinks.http_delivery import retry_each, retry_topics
from optout.streams.topics import WEBHOOK_TOPIC
from optout.tables.settings import settings_reader

__all__ = ["retry_webhooks_tier_1", "retry_webhooks_tier_2", "retry_webhooks_tier_3"]


async def retry(stream: StreamT) -> None:
    await retry_each(
        stream, handle_webhook, acks_itself=True, before=settings_reader.caught_up.wait
    )


tier_1, tier_2, tier_3 = retry_topics[WEBHOOK_TOPIC]


@app.agent(tier_1, name="customer-webhook-retry-1-agent")
async def retry_webhooks_tier_1(stream: StreamT) -> None:
    await retry(stream)


@app.agent(tier_2, name="customer-webhook-retry-2-agent")
async def retry_webhooks_tier_2(stream: StreamT) -> None:
    await retry(stream)


@app.agent(tier_3, name="customer-webhook-retry-3-agent")
async def retry_webhooks_tier_3(stream: StreamT) -> None:
    await retry(stream)
