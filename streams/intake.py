"""Intake agent: validate each inbound record and re-key it by (business number, end user).

Re-keying puts every message of one pair in one partition of `inbound-by-pair`, so the classify
agent sees a STOP and a later START from the same user in the order they arrived.
"""

from __future__ import annotations

from optout.schemas import DecodeError
from optout.streams.app import app, inbound_by_pair_topic, inbound_serde, inbound_topic
from optout.streams.dead_letter import send_to_dead_letters
from optout.streams.validate import validate_inbound
from optout.tables.blocklist import pair_key


@app.agent(inbound_topic)
async def intake(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        try:
            message = inbound_serde.decode(event.value)
            validate_inbound(message)
        except DecodeError as exc:
            await send_to_dead_letters(event, str(exc))
            continue
        key = pair_key(message["to_number"], message["from_number"])
        await inbound_by_pair_topic.send(key=key, value=event.value)
