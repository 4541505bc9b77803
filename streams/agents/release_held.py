"""Release agent: sends held for quiet hours go back through the gate when the window opens.

Held sends wait on `outbound-held` (keyed by the end user, like the block list) in a
DeliveryRetry envelope whose `not_before` is when the brand's window opens at the recipient.
When it is due, the send is gated again: an opt-out made while it waited rejects it, and a
window that moved holds it again.
"""

from __future__ import annotations

from faust.types import EventT

from optout.schemas import DecodeError, Record
from optout.streams.agents.gate import gate_send
from optout.streams.app import app, held_sends_topic, outbound_serde
from optout.streams.runtime.dead_letters import send_to_dead_letters
from optout.streams.sinks.http_delivery import retry_each

__all__ = ["release_held", "release_one"]


@app.agent(held_sends_topic)
async def release_held(stream):  # type: ignore[no-untyped-def]
    await retry_each(stream, release_one, acks_itself=False)


async def release_one(event: EventT, envelope: Record | None) -> None:
    payload = envelope["payload"] if envelope else event.value
    try:
        send = outbound_serde.decode(payload)
    except DecodeError as exc:
        await send_to_dead_letters(event, str(exc), payload)
        return
    await (await gate_send(event, send, payload))
