"""Dead letters over HTTP (admin token): each with its reason, and a delivery put back on its
topic once the cause is fixed (`optout webhooks replay` and `optout sends replay` replay many
at once). Records that were bad as they arrived are listed, not replayed: they would fail again.
"""

from __future__ import annotations

from collections.abc import Callable

from aiokafka import ConsumerRecord
from faust.web import Request, Response, View

from optout.schemas import DecodeError
from optout.streams.app import (
    app,
    carrier_sends_topic,
    config,
    dead_letter_serde,
    outbound_serde,
    webhook_serde,
    webhook_topic,
)
from optout.streams.rules.lookup_answers import iso
from optout.streams.topics import CARRIER_SENDS_TOPIC, DEAD_LETTER_TOPIC, WEBHOOK_TOPIC
from optout.streams.web.auth import admin_caller
from optout.tables.client.topic_reader import read_records

__all__ = ["MAX_LISTED", "DeadLetterReplayView", "DeadLettersView", "dead_letters", "listed"]

MAX_LISTED = 200

# Topics whose dead letters are deliveries, and the message each carries.
REPLAYABLE: dict[str, Callable[[bytes], dict]] = {
    WEBHOOK_TOPIC: lambda value: webhook_serde.decode(value)["message"],
    CARRIER_SENDS_TOPIC: outbound_serde.decode,
}
TOPICS = {WEBHOOK_TOPIC: webhook_topic, CARRIER_SENDS_TOPIC: carrier_sends_topic}


def listed(record: ConsumerRecord) -> dict:
    """A dead letter as the API lists it: id (partition-offset), where it failed and why, and
    for a delivery, which message it carries."""
    dead = dead_letter_serde.decode(record.value)
    message = _delivered_message(dead)
    return {
        "id": f"{record.partition}-{record.offset}",
        "source_topic": dead["source_topic"],
        "reason": dead["reason"],
        "failed_at": iso(dead["failed_at"]),
        "replayable": message is not None,
        "summary": (
            f"{message['message_id']}: {message['from_number']} to {message['to_number']}"
            if message
            else None
        ),
    }


def _delivered_message(dead: dict) -> dict | None:
    """The message a dead-lettered delivery carries; None for anything else."""
    message_of = REPLAYABLE.get(dead["source_topic"])
    if message_of is None or dead["value"] is None:
        return None
    try:
        return message_of(dead["value"])
    except DecodeError:
        return None


async def dead_letters() -> list[tuple[ConsumerRecord, dict]]:
    """Every dead letter with its listing, the latest failure first (a record on the topic that
    is no dead letter of ours is left out)."""
    found = []
    for record in await read_records(config.broker_url, DEAD_LETTER_TOPIC):
        try:
            found.append((record, listed(record)))
        except DecodeError:
            continue
    return sorted(found, key=lambda pair: pair[1]["failed_at"], reverse=True)


@app.page("/v1/dead-letters")
class DeadLettersView(View):
    """GET the latest dead letters (at most 200), each with its reason."""

    async def get(self, request: Request) -> Response:
        admin_caller(request)
        found = [row for _, row in await dead_letters()]
        return self.json({"dead_letters": found[:MAX_LISTED], "count": len(found)})


@app.page("/v1/dead-letters/{dead_letter_id}/replay")
class DeadLetterReplayView(View):
    """POST: put a dead-lettered delivery back on its topic, with its key and bytes untouched
    (so with its original Idempotency-Key)."""

    async def post(self, request: Request, dead_letter_id: str) -> Response:
        admin_caller(request)
        found = [(r, row) for r, row in await dead_letters() if row["id"] == dead_letter_id]
        if not found:
            return self.json({"error": f"no dead letter {dead_letter_id!r}"}, status=404)
        record, row = found[0]
        if not row["replayable"]:
            return self.json(
                {"error": f"a record from {row['source_topic']} is not a delivery: not replayed"},
                status=409,
            )
        dead = dead_letter_serde.decode(record.value)
        sent = await TOPICS[dead["source_topic"]].send(key=dead["key"], value=dead["value"])
        await sent
        return self.json({"replayed": dead_letter_id, "topic": dead["source_topic"]}, status=202)
