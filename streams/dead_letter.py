"""Dead letters: a record that cannot be processed is kept whole, with the reason, never dropped."""

from __future__ import annotations

import logging
import time

from faust.types import EventT

from optout.streams.app import dead_letter_serde, dead_letter_topic

log = logging.getLogger(__name__)


async def send_to_dead_letters(event: EventT, reason: str) -> None:
    """Publish the event's original key and value with the reason to the dead-letter topic."""
    message = event.message
    record = {
        "source_topic": message.topic,
        "source_partition": message.partition,
        "source_offset": message.offset,
        "key": message.key,
        "value": message.value,
        "reason": reason,
        "failed_at": int(time.time() * 1000),
    }
    log.warning(
        "dead-lettered %s[%d]@%d: %s", message.topic, message.partition, message.offset, reason
    )
    await dead_letter_topic.send(key=message.key, value=dead_letter_serde.encode(record))
