"""What a STOP answered: the last send from each number to each end user, and its kind.

The gate remembers a send of a kind-aware brand as it hands it to carrier delivery
(agents/gate.py); classify reads it when the end user's STOP arrives, to decide what the STOP
blocks (rules/kinds.py). Both run in the end user's partition, where the entry is kept, so the
read is local. A pair with no entry (no send remembered, or a brand that turned kind-aware
later) gets the safe answer: the STOP blocks every kind that needs consent.
"""

from __future__ import annotations

from collections.abc import Awaitable

from faust.types import RecordMetadata

from optout.streams.app import bytes_table
from optout.streams.rules.kinds import LastSend
from optout.streams.runtime.partition_stores import get_in_partition, put_in_partition
from optout.streams.topics import LAST_SENDS_CHANGELOG_TOPIC
from optout.tables.keys import pair_key

__all__ = ["LastSend", "last_send", "last_sends", "remember_send"]

# 'business number|end user' -> b"<epoch ms> <kind> <send id>".
last_sends = bytes_table("last-sends", LAST_SENDS_CHANGELOG_TOPIC)


async def remember_send(
    partition: int, business: str, end_user: str, kind: str, message_id: str, now_ms: int
) -> Awaitable[RecordMetadata | None]:
    value = f"{now_ms} {kind} {message_id}".encode()
    return await put_in_partition(last_sends, partition, pair_key(business, end_user), value)


def last_send(partition: int, business: str, end_user: str) -> LastSend | None:
    value = get_in_partition(last_sends, partition, pair_key(business, end_user))
    if value is None:
        return None
    at_ms, kind, message_id = value.decode().split(" ", 2)
    return LastSend(kind, message_id, int(at_ms))
