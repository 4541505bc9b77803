"""The classify worker is killed with SIGKILL three times while messages stream through, from a
carrier keying by the sender with Kafka's default partitioner (murmur2: each message classified
where it lands) and from one on librdkafka's default partitioner (CRC32: most messages take the
re-key hop onto `inbound-by-user`, which a kill makes produce its records again).

Afterwards: the block list equals the input replayed in order through the same decisions; every
message reached the webhook receiver, once per idempotency key; the carrier accepted each reply
once (a reply is sent again only after an attempt that got no answer, under the same
Idempotency-Key); every consent change is on `optout-events` once per event id, in order per pair.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaProducer
from confluent_kafka import Producer

from optout.schemas import AvroSerde, Record
from optout.streams.embedded.broker import free_port
from optout.streams.rules.decide import decide
from optout.streams.rules.number_settings import default_settings
from tests.support import ON_KAFKA, Stack, doubled, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.crash]
# `make test` streams 10,000 messages (the third kill lands near 6,000); `make crash` 20,000.
MESSAGES = int(os.environ.get("OPTOUT_CRASH_TEST_MESSAGES", "10000"))
KILLS = 3
BUSINESSES = [f"+120155501{n:02d}" for n in range(10)]
USERS = [f"+120355501{n:02d}" for n in range(40)]
TEXTS = ["STOP", "START", "HELP", "hello there", "see you at 5", "stop", "Unsubscribe"]
WEIGHTS = [12, 14, 8, 40, 20, 3, 3]


# On Apache Kafka also with transactions: then nothing is on a topic twice either.
GUARANTEES = ["at_least_once", "exactly_once"] if ON_KAFKA else ["at_least_once"]


@pytest.fixture(params=GUARANTEES)
def crash_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A classify worker to kill, and a delivery worker (replies, webhooks) left running."""
    with Stack(
        tmp_path_factory.mktemp("crash-stack"),
        agents="classify",
        OPTOUT_PROCESSING_GUARANTEE=request.param,
    ) as running:
        delivery_port = free_port()
        delivery = running.spawn_worker(delivery_port, "delivery", agents="reply,webhook")
        running.wait_ready(delivery, delivery_port)
        yield running
        delivery.terminate()
        delivery.wait(timeout=60)


def inbound_messages() -> list[Record]:
    rng = random.Random(20_000)
    return [
        {
            "message_id": f"crash-{n}",
            "channel": "SMS",
            "from_number": rng.choice(USERS),
            "to_number": rng.choice(BUSINESSES),
            "text": rng.choices(TEXTS, WEIGHTS)[0],
            "media_urls": [],
            "received_at": 0,
            "carrier": "crash-test",
        }
        for n in range(MESSAGES)
    ]


def replay(messages: list[Record]) -> tuple[dict, dict, set]:
    """The input decided in order: final entry per pair, consent actions per pair, reply ids."""
    entries: dict[tuple[str, str], Record | None] = defaultdict(lambda: None)
    actions: dict[tuple[str, str], list[str]] = defaultdict(list)
    replies = set()
    for message in messages:
        pair = (message["to_number"], message["from_number"])
        settings = default_settings(pair[0], "Acme", "help@acme.test")
        entry = entries[pair]
        decision = decide(message, settings, lambda _, e=entry: e, int(time.time() * 1000))
        entries[pair] = decision.entry
        if decision.consent_action:
            actions[pair].append(decision.consent_action)
        if decision.reply_text is not None:
            replies.add(f"{message['message_id']}:reply")
    return entries, actions, replies


async def produce_all(bootstrap: str, messages: list[Record]) -> None:
    serde = AvroSerde("inbound_message", "inbound-messages")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for message in messages:
            message["received_at"] = int(time.time() * 1000)
            await producer.send(
                "inbound-messages", serde.encode(message), key=message["from_number"].encode()
            )
        await producer.flush()
    finally:
        await producer.stop()


def produce_all_librdkafka(bootstrap: str, messages: list[Record]) -> None:
    """As a carrier on confluent-kafka with its default partitioner (consistent_random: CRC32
    of the key), so most end users' messages land outside their partition."""
    serde = AvroSerde("inbound_message", "inbound-messages")
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for message in messages:
        message["received_at"] = int(time.time() * 1000)
        value, key = serde.encode(message), message["from_number"].encode()
        while True:
            try:
                producer.produce("inbound-messages", value, key)
                break
            except BufferError:  # the local queue is full: let it drain
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(60) == 0, "records left unsent"


@pytest.mark.parametrize("partitioner", ["murmur2", "librdkafka"])
def test_kill_9_three_times_mid_stream_loses_and_doubles_nothing(
    crash_stack: Stack, partitioner: str
) -> None:
    stack = crash_stack
    messages = inbound_messages()
    expected_entries, expected_actions, expected_replies = replay(messages)
    if partitioner == "murmur2":
        stack.run(produce_all(stack.broker.bootstrap, messages), timeout=300)
    else:
        produce_all_librdkafka(stack.broker.bootstrap, messages)

    rng = random.Random(9)
    delivered_at_kill = []
    for _ in range(KILLS):
        time.sleep(rng.uniform(1.0, 4.0))
        delivered_at_kill.append(len(webhook_keys(stack)))
        stack.kill_worker()
        stack.start_worker()
    print(f"webhooks delivered at each kill: {delivered_at_kill} of {MESSAGES}")
    assert delivered_at_kill[-1] < MESSAGES, "every kill must land mid-stream"

    all_ids = {m["message_id"] for m in messages}
    try:
        eventually(lambda: webhook_keys(stack) >= all_ids, timeout=900, what="every webhook")
    except AssertionError:
        raise AssertionError(where_lost(stack, all_ids - webhook_keys(stack))) from None
    eventually(
        lambda: set(carrier_keys(stack)) >= expected_replies, timeout=300, what="every reply"
    )

    assert set(webhook_keys(stack)) == all_ids
    for request in stack.webhook_a.received:
        assert request.body["message_uuid"] == request.headers["Idempotency-Key"]
    replies = carrier_keys(stack)
    assert set(replies) == expected_replies
    attempts = reply_attempts(stack)
    for reply_id, requests in replies.items():
        outcomes = attempts[reply_id]
        # Accepted once; a request repeated only after an attempt that failed.
        assert outcomes.count("SENT") == 1 and outcomes[-1] == "SENT", (reply_id, outcomes)
        assert requests <= len(outcomes), (reply_id, requests, outcomes)

    pairs = sorted(expected_entries)
    body = {"pairs": [{"number": n, "sender": s} for n, s in pairs]}
    status, answer = stack.http("POST", "/v1/blocklist/check", body)
    assert status == 200
    blocked = {(r["number"], r["sender"]): r["blocked"] for r in answer["results"]}
    expected = {pair: bool(e and e["blocked"]) for pair, e in expected_entries.items()}
    assert blocked == expected
    assert sum(expected.values()) > 0 and not all(expected.values())

    assert consent_actions(stack) == {p: a for p, a in expected_actions.items() if a}

    if stack.extra_env["OPTOUT_PROCESSING_GUARANTEE"] == "exactly_once":
        # As a consumer reading committed sees them: each record once, whatever the kills did.
        found = doubled(stack)
        assert found == {topic: {} for topic in found}


def webhook_keys(stack: Stack) -> set[str]:
    return {r.headers["Idempotency-Key"] for r in stack.webhook_a.received}


def carrier_keys(stack: Stack) -> Counter:
    return Counter(r.headers["Idempotency-Key"] for r in stack.carrier.received)


def reply_attempts(stack: Stack) -> dict[str, list[str]]:
    """Per reply id, the outcome of each attempt, in order."""
    attempts = defaultdict(list)
    for result in stack.read_topic("delivery-results", "delivery_result"):
        if result["kind"] == "REPLY":
            attempts[result["delivery_id"]].append(result["outcome"])
    return attempts


def where_lost(stack: Stack, missing: set[str]) -> str:
    """Which hop lost the messages that never reached the webhook receiver."""
    classified = {
        e["message"]["message_id"] for e in stack.read_topic("customer-webhook", "webhook_event")
    }
    return (
        f"{len(missing)} messages never reached the webhook receiver, e.g. {sorted(missing)[:10]}; "
        f"{len(missing & classified)} of them are on customer-webhook (lost in delivery), "
        f"the others were never classified"
    )


def consent_actions(stack: Stack) -> dict[tuple[str, str], list[str]]:
    """Per pair, in topic order, the actions of distinct event ids (a replay repeats an id)."""
    seen, actions = set(), defaultdict(list)
    for event in stack.read_topic("optout-events", "optout_event"):
        if event["event_id"] not in seen:
            seen.add(event["event_id"])
            pair = (event["business_number"], event["end_user_number"])
            actions[pair].append(event["action"])
    return dict(actions)
