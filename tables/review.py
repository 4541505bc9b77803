"""The review queue: messages flagged for a person's decision, followed from the compacted
`consent-review` topic into memory on every classify worker (like the settings), and counted in
/metrics as open and overdue."""

from __future__ import annotations

import time
from typing import Any

from optout.schemas import Record
from optout.streams.app import app, config, review_serde
from optout.streams.metrics import REVIEWS_OPEN, REVIEWS_OVERDUE
from optout.streams.topics import CONSENT_REVIEW_TOPIC
from optout.tables.client.topic_reader import TopicReader

__all__ = ["open_items", "review_items", "review_reader"]

review_items: dict[bytes, Record] = {}
review_reader = TopicReader(
    config.broker_url, CONSENT_REVIEW_TOPIC, review_items, decode=review_serde.decode
)


@app.task
async def follow_reviews() -> Any:
    await review_reader.run()


def open_items(now_ms: int | None = None, overdue_only: bool = False) -> list[Record]:
    """The open items, the soonest due first."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    items = [i for i in review_items.values() if i["status"] == "OPEN"]
    if overdue_only:
        items = [i for i in items if i["due_at"] < now_ms]
    return sorted(items, key=lambda i: i["due_at"])


REVIEWS_OPEN.set_function(lambda: len(open_items()))
REVIEWS_OVERDUE.set_function(lambda: len(open_items(overdue_only=True)))
