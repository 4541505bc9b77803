"""The gate's "after" (README, "After a STOP"): a send produced after the broker acknowledged
an end user's STOP is rejected, and a lookup asked after it answers blocked (or 503, never "not
blocked"), whatever partition the carrier put the STOP on. Sends and lookups follow each STOP's
acknowledgement by 0, 2, 10 and 50 ms, for many users, from a carrier keying by the end user
(classified where it lands) and from one putting every STOP on another partition (the re-key
hop)."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaProducer

from optout.schemas import AvroSerde
from optout.streams.rules.partitioning import end_user_partition
from tests.support import Stack, eventually

pytestmark = pytest.mark.e2e

DELAYS_MS = (0, 2, 10, 50)
USERS_PER_DELAY = 8
PARTITIONS = 4  # the stack's OPTOUT_PARTITIONS default
INBOUND = AvroSerde("inbound_message", "inbound-messages")
OUTBOUND = AvroSerde("outbound_message", "outbound-messages")


def users(keying: str) -> list[tuple[int, str]]:
    """(delay in ms, end user), distinct per keying, on the fiction lines of 509 and 409."""
    area = "509" if keying == "by-user" else "409"
    return [
        (delay, f"+1{area}55501{n:02d}")
        for n, delay in enumerate(d for d in DELAYS_MS for _ in range(USERS_PER_DELAY))
    ]


async def send_stop(
    producer: AIOKafkaProducer, number: str, user: str, keying: str, what: str
) -> None:
    """The end user's STOP, acknowledged by the broker."""
    stop = INBOUND.encode({
        "message_id": f"{what}-stop-{keying}-{user}", "channel": "SMS", "from_number": user,
        "to_number": number, "text": "STOP", "media_urls": [],
        "received_at": int(time.time() * 1000), "carrier": "test",
    })  # fmt: skip
    home = end_user_partition(user, PARTITIONS)
    partition = home if keying == "by-user" else (home + 1) % PARTITIONS
    await producer.send_and_wait("inbound-messages", stop, user.encode(), partition)


async def stop_then_send(stack: Stack, number: str, keying: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.broker.bootstrap, acks="all")
    await producer.start()
    try:
        for delay_ms, user in users(keying):
            now = int(time.time() * 1000)
            await send_stop(producer, number, user, keying, "after")
            await asyncio.sleep(delay_ms / 1000)
            send = OUTBOUND.encode({
                "message_id": f"after-send-{keying}-{user}", "channel": "SMS",
                "from_number": number, "to_number": user, "text": "Sale!", "media_urls": [],
                "reference": None, "category": None, "requested_at": now + delay_ms,
            })  # fmt: skip
            await producer.send_and_wait("outbound-messages", send, user.encode())
    finally:
        await producer.stop()


@pytest.mark.parametrize("keying", ["by-user", "elsewhere"])
def test_every_send_produced_after_a_stops_acknowledgement_is_rejected(
    stack: Stack, keying: str
) -> None:
    number = "+12125550170" if keying == "by-user" else "+12125550171"
    stack.run(stop_then_send(stack, number, keying))
    expected = {f"after-send-{keying}-{user}" for _, user in users(keying)}

    def results() -> dict[str, str] | None:
        found = {
            r["message_id"]: r["status"]
            for r in stack.read_topic("send-results", "send_result")
            if r["message_id"] in expected
        }
        return found if set(found) == expected else None

    statuses = eventually(results, what="a result for every send")
    assert {status for status in statuses.values()} == {"REJECTED"}, statuses
    assert not [r for r in stack.carrier.received if r.body.get("client_ref") in expected]


async def stop_then_look_up(stack: Stack, number: str, keying: str) -> dict[str, tuple]:
    """Each user's lookup, asked `delay` ms after the broker acknowledged their STOP:
    (status, blocked) by user."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.broker.bootstrap, acks="all")
    await producer.start()
    answers = {}
    try:
        for delay_ms, user in users(keying):
            await send_stop(producer, number, user, keying, "lookup")
            await asyncio.sleep(delay_ms / 1000)
            status, answer = await asyncio.to_thread(
                stack.http, "GET", f"/v1/blocklist/{number}/{user}"
            )
            answers[user] = (status, answer.get("blocked"))
    finally:
        await producer.stop()
    return answers


@pytest.mark.parametrize("keying", ["by-user", "elsewhere"])
def test_every_lookup_asked_after_a_stops_acknowledgement_answers_blocked(
    stack: Stack, keying: str
) -> None:
    number = "+12125550172" if keying == "by-user" else "+12125550173"
    answers = stack.run(stop_then_look_up(stack, number, keying))
    wrong = {
        user: answer
        for user, answer in answers.items()
        if answer[0] != 503 and answer != (200, True)
    }
    assert not wrong, f"answers that were not 'blocked' nor 503: {wrong}"
    assert sum(answer == (200, True) for answer in answers.values()) >= len(answers) // 2, answers
