"""How far the other workers have classified their partitions, asked of them.

A lookup or a send waits for classify to handle every inbound message the broker held when it
was asked (streams/runtime/handled.py), on every partition of `inbound-messages`. For a partition
another worker classifies, the group's commits say how far it got, but only every commit interval
(2.8 s): with several workers, most lookups would wait that long. So the waiting worker also
asks the partition's owner (`GET /v1/internal/classified`, tables/views/progress.py) how far it
has handled it: marks made after each batch's blocks are written and its records are on the
broker, a lower bound of the truth whenever it was read, so an answer from a request begun
before the question still counts. One request per owner at a time, shared by every waiter.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any, cast

import aiohttp
from faust.types import TP

from optout.streams.app import app, config
from optout.streams.topics import BLOCKLIST_CHANGELOG_TOPIC

__all__ = ["CLASSIFIED_PATH", "PEER_TIMEOUT_SECONDS", "PeerProgress", "peer_progress"]

CLASSIFIED_PATH = "/v1/internal/classified"
PEER_TIMEOUT_SECONDS = 1.0


class PeerProgress:
    def __init__(self) -> None:
        self._asking: dict[str, asyncio.Future[dict[TP, int]]] = {}

    async def handled(self, tps: Iterable[TP]) -> dict[TP, int]:
        """How far the owners of `tps` say they have classified them (those they answered for;
        none of a worker that does not answer)."""
        owners = {owner for tp in tps if (owner := owner_of_partition(tp.partition))}
        answers = await asyncio.gather(*(self._ask(owner) for owner in owners))
        handled: dict[TP, int] = {}
        for answer in answers:
            handled |= answer
        return handled

    async def _ask(self, owner: str) -> dict[TP, int]:
        asking = self._asking.get(owner)
        if asking is None or asking.done():
            asking = self._asking[owner] = asyncio.ensure_future(_classified_at(owner))
        return await asyncio.shield(asking)


def owner_of_partition(partition: int) -> str | None:
    """The URL of the worker that classifies `partition` (the owner of the block list's
    partition: classify's topics and its tables are co-partitioned), when it is another one."""
    owner = cast(Any, app.assignor)._tps_url.get(TP(BLOCKLIST_CHANGELOG_TOPIC, partition))
    if owner is None or owner.rstrip("/") == config.canonical_url.rstrip("/"):
        return None
    return str(owner)


async def _classified_at(owner: str) -> dict[TP, int]:
    url = owner.rstrip("/") + CLASSIFIED_PATH
    # Any failure or malformed answer: no answer, and the group's commits decide.
    unusable = (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError, AttributeError)
    with contextlib.suppress(*unusable):
        timeout = aiohttp.ClientTimeout(total=PEER_TIMEOUT_SECONDS)
        async with app.http_client.get(url, timeout=timeout) as response:
            if response.status == 200:
                answer = await response.json()
                return {
                    TP(topic, int(partition)): int(offset)
                    for name, offset in answer["classified"].items()
                    for topic, _, partition in [name.rpartition(":")]
                }
    return {}


peer_progress = PeerProgress()
