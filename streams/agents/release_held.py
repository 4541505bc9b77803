"""Release agent: sends held for quiet hours go back through the gate when the window opens.

Held sends wait on `outbound-held` (keyed by the end user, like the block list) in a
DeliveryRetry envelope whose `not_before` is when the brand's window opens at the recipient.
Each waits on its own, so a send due in an hour never holds up one due now; when it is due, it
is gated again: an opt-out made while it waited rejects it. Its record is acknowledged once it is
released (offsets are committed only up to the oldest send still waiting, so a restarted worker
holds those again); a worker that stops or gives up the partition first puts it back on the
topic for the next owner. Out of order, so at least once even with exactly-once (a transaction
commits a partition's offsets in order): a send released twice after a crash is deduplicated
by its id in carrier delivery (agents/deliver_send.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

from faust.streams import Stream
from faust.types import EventT

from optout.schemas import DecodeError
from optout.streams.agents.gate import gate_send
from optout.streams.app import app, held_sends_topic, outbound_serde, retry_serde
from optout.streams.exceptions import RebalanceUnderWay
from optout.streams.runtime.batches import handle_in_full
from optout.streams.runtime.dead_letters import send_to_dead_letters
from optout.streams.runtime.handled import wait_for_inbound
from optout.streams.sinks.http_delivery import hand_back, wait_until_due

__all__ = ["release_held", "release_when_due", "waiting"]

waiting: set[asyncio.Future[None]] = set()  # the loop keeps only weak references to tasks


@app.agent(held_sends_topic)
async def release_held(stream):  # type: ignore[no-untyped-def]
    async for event in cast(Stream, stream).noack().events():
        task = asyncio.ensure_future(release_when_due(event))
        waiting.add(task)
        task.add_done_callback(waiting.discard)


async def release_when_due(event: EventT) -> None:
    await handle_in_full(_release, [event], "release")
    event.ack()


async def _release(events: Sequence[EventT]) -> None:
    event = events[0]
    try:
        envelope = retry_serde.decode(event.value)
        send = outbound_serde.decode(envelope["payload"])
    except DecodeError as exc:
        await send_to_dead_letters(event, str(exc))
        return
    if not await wait_until_due(envelope):
        await hand_back(event)
        return
    try:
        await wait_for_inbound({event.message.partition})  # a STOP made while it waited
    except RebalanceUnderWay:
        await hand_back(event)  # released after it, by the partition's owner
        return
    await (await gate_send(event, send, envelope["payload"]))
