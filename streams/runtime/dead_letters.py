"""Dead letters: a record that cannot be processed is kept whole, with the reason, never dropped."""

from __future__ import annotations

import logging
import time

from faust.types import EventT

from optout.streams.app import dead_letter_serde, dead_letter_topic, produce
from optout.streams.metrics import DEAD_LETTERS

__all__ = ["send_to_dead_letters"]

log = logging.getLogger(__name__)


async def send_to_dead_letters(
    event: EventT, reason: str, value: bytes | None = None, source_topic: str | None = None
) -> None:
    """Publish the event's key and value (or the given inner value) with the reason.

    Deliveries that give up pass the original reply or webhook record as `value` and its
    topic as `source_topic`, so a replay can put it back where it came from.
    """
    message = event.message
    record = {
        "source_topic": source_topic or message.topic,
        "source_partition": message.partition,
        "source_offset": message.offset,
        "key": message.key,
        "value": message.value if value is None else value,
        "reason": reason,
        "failed_at": int(time.time() * 1000),
    }
    log.warning(
        "dead-lettered %s[%d]@%d: %s", message.topic, message.partition, message.offset, reason
    )
    DEAD_LETTERS.labels(record["source_topic"]).inc()
    # In the event's transaction, if any (exactly-once); else safe before its event is acknowledged.
    sent = await produce(dead_letter_topic, message.key, dead_letter_serde.encode(record))
    await sent
