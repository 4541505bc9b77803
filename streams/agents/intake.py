"""Intake agent: validate each inbound record and re-key it by (business number, end user).

Re-keying puts every message of one pair in one partition of `inbound-by-pair`, so the classify
agent sees a STOP and a later START from the same user in the order they arrived. A batch of
inbound records is acknowledged only once the broker has every record it sent on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

from faust.types import EventT

from optout.schemas import DecodeError
from optout.streams.app import app, inbound_by_pair_topic, inbound_serde, inbound_topic, produce
from optout.streams.rules.validate import validate_inbound
from optout.streams.runtime.batches import batches, handle_in_full
from optout.streams.runtime.dead_letters import send_to_dead_letters
from optout.tables.keys import pair_key

__all__ = ["intake", "rekey"]


@app.agent(inbound_topic)
async def intake(stream):  # type: ignore[no-untyped-def]
    async for events in batches(stream):
        await handle_in_full(rekey, events, "intake")


async def rekey(events: Sequence[EventT]) -> None:
    sent: list[Awaitable] = []
    for event in events:
        try:
            message = inbound_serde.decode(event.value)
            validate_inbound(message)
        except DecodeError as exc:
            await send_to_dead_letters(event, str(exc))
            continue
        key = pair_key(message["to_number"], message["from_number"])
        sent.append(await produce(inbound_by_pair_topic, key, event.value))
    await asyncio.gather(*sent)
