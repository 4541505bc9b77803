"""Send delivery agent: sends the gate let through go to the carrier send API over HTTP.

Delivered like auto-replies (agents/deliver_reply.py): the send's message id is the carrier's
Idempotency-Key, the `sent-sends` table remembers what the carrier accepted so that a restarted
worker does not send it again, failures go through the retry tiers (agents/retry_sends.py) and
then to dead letters. Before each attempt the block list is read again, from this worker's full
copy (tables/full_copy.py): a STOP that arrived while a send waited for a retry stops it. Each
send ends with one result on `send-results`: SENT, REJECTED, or FAILED with the attempts made.
A refusal whose error code says the recipient opted out with the carrier
(`OPTOUT_CARRIER_OPT_OUT_CODES`) blocks them here too, with source `carrier`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from faust.types import EventT

from optout.schemas import DecodeError, Record
from optout.streams.app import (
    app,
    bytes_table,
    carrier_sends_topic,
    config,
    outbound_serde,
    produce,
    send_result_serde,
    send_results_topic,
)
from optout.streams.rules.consent_records import carrier_command
from optout.streams.rules.gate import REJECT, GateVerdict, gate_verdict, send_result
from optout.streams.rules.retry_schedule import AttemptOutcome, Verdict
from optout.streams.runtime.batches import handle_each
from optout.streams.runtime.dead_letters import send_to_dead_letters
from optout.streams.runtime.pruning import Pruner
from optout.streams.sinks.http_delivery import (
    Delivery,
    attempt,
    gave_up,
    one_attempt_at_a_time,
    settle,
)
from optout.streams.topics import CARRIER_SENDS_TOPIC, SENT_SENDS_CHANGELOG_TOPIC
from optout.tables import full_copy
from optout.tables.blocklist import blocklist_commands_topic, command_serde
from optout.tables.keys import end_user_key

__all__ = [
    "consent_now",
    "deliver_send",
    "handle_send",
    "publish_final",
    "publish_result",
    "send_delivery",
    "sent_pruner",
    "sent_sends",
]

log = logging.getLogger(__name__)

sent_sends = bytes_table("sent-sends", SENT_SENDS_CHANGELOG_TOPIC)
sent_pruner = Pruner(sent_sends, config.dedupe_retention_s, config.prune_interval_s)


@app.agent(carrier_sends_topic)
async def deliver_send(stream):  # type: ignore[no-untyped-def]
    await handle_each(stream, handle_send, "send")


async def handle_send(event: EventT, envelope: Record | None = None) -> None:
    payload = envelope["payload"] if envelope else event.value
    try:
        send = outbound_serde.decode(payload)
    except DecodeError as exc:
        await send_to_dead_letters(event, str(exc), payload)
        return
    message_id = send["message_id"].encode()
    async with one_attempt_at_a_time(message_id):
        if sent_sends.get(message_id) is not None:
            # Accepted before a restart: its result may not have been published; say it again.
            log.info("send %s was already accepted; not sent again", send["message_id"])
            await publish_result(send_result(send, "SENT", int(time.time() * 1000)))
            return
        refused, opt_in_id = await consent_now(send)
        if refused.action == REJECT:
            reason = f"{refused.reason} (while the send waited for the carrier)"
            await publish_result(
                send_result(send, "REJECTED", int(time.time() * 1000), reason, refused.consent)
            )
            return
        delivery = send_delivery(send, payload, envelope)
        started = time.monotonic()
        outcome = await attempt(delivery, app.http_client)
        if outcome.verdict is Verdict.SENT:
            sent_sends[message_id] = str(int(time.time() * 1000)).encode()
        await settle(event, delivery, outcome, (time.monotonic() - started) * 1000)
        await publish_final(send, delivery, outcome, opt_in_id)
        if outcome.code in config.carrier_opt_out_codes:
            await record_carrier_opt_out(send, outcome.code)
    sent_pruner.prune(event)


async def record_carrier_opt_out(send: Record, code: str) -> None:
    """The carrier says the recipient opted out with it: block them here too, as a command
    applied in order with the end user's other changes."""
    command = carrier_command(send, code, int(time.time() * 1000))
    log.warning("carrier refused %s with code %s: %s blocked at %s", send["message_id"], code,
                send["to_number"], send["from_number"])  # fmt: skip
    ack = await produce(
        blocklist_commands_topic, end_user_key(send["to_number"]), command_serde.encode(command)
    )
    await ack


async def publish_final(
    send: Record, delivery: Delivery, outcome: AttemptOutcome, opt_in_id: str | None = None
) -> None:
    """SENT, or FAILED once no attempt is left (naming the recorded opt-in the send relied
    on, if it needed one); nothing while the send waits for a retry."""
    attempts = delivery.attempts_before + 1
    if outcome.verdict is Verdict.SENT or gave_up(delivery, outcome):
        status = "SENT" if outcome.verdict is Verdict.SENT else "FAILED"
        reason = None if status == "SENT" else f"carrier: {outcome.error or outcome.http_status}"
        now_ms = int(time.time() * 1000)
        await publish_result(
            send_result(
                send, status, now_ms, reason, None, attempts, outcome.http_status, opt_in_id
            )  # fmt: skip
        )


async def publish_result(result: Record) -> None:
    sent = await send_results_topic.send(
        key=result["to_number"].encode(), value=send_result_serde.encode(result)
    )
    await sent


async def consent_now(send: Record) -> tuple[GateVerdict, str | None]:
    """The gate's consent verdict on the send now (a rejection with its reason when the end
    user's consent blocks its kind of message), and the recorded opt-in the send relies on if it
    needs one; from this worker's full copy of the block list once it has caught up (it trails
    the changelog by its fetch wait)."""
    while full_copy.reader is None or not full_copy.reader.caught_up:
        await asyncio.sleep(0.1)
    consent = full_copy.reader.consent(send["from_number"], send["to_number"])
    kinds = full_copy.reader.kinds(send["from_number"])
    verdict = gate_verdict(send, consent, None, int(time.time() * 1000), kinds)
    kind = kinds.kind_of(send)
    opt_in = kinds.opt_in_for(consent, kind) if kinds.needs_opt_in(kind) else None
    return verdict, opt_in["opt_in_id"] if opt_in else None


def send_delivery(send: Record, payload: bytes, envelope: Record | None) -> Delivery:
    body = {
        "from": send["from_number"],
        "to": send["to_number"],
        "channel": send["channel"].lower(),
        "message_type": "image" if send["media_urls"] else "text",
        "text": send["text"],
        "media_urls": send["media_urls"],
        "client_ref": send["message_id"],
    }
    return Delivery(
        kind="SEND",
        topic=CARRIER_SENDS_TOPIC,
        delivery_id=send["message_id"],
        message_id=send["message_id"],
        url=config.carrier_api_url,
        body=json.dumps(body).encode(),
        payload=payload,
    ).resuming(envelope)
