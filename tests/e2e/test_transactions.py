"""Exactly-once on Apache Kafka (OPTOUT_PROCESSING_GUARANTEE=exactly_once): a worker whose
transactions are fenced mid-stream, as when another worker takes its partitions over, aborts
them, puts its tables back as they were before them, and handles those messages again with a
new producer. Nothing is lost, no pair is wrong, and a consumer reading committed records sees
every webhook, reply and consent event once; the gate, fenced the same way, hands each send to
the carrier or rejects it once. (The kill -9 crash test runs exactly-once on Kafka too:
tests/e2e/test_crash.py.) An imported list applied by the manage agent, fenced the same way,
changes each pair once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from optout.schemas import AvroSerde, Record
from optout.streams.rules.consent_records import import_command
from optout.streams.topics import partitions_of
from tests.support import (
    ON_KAFKA,
    Stack,
    blocked,
    doubled,
    eventually,
    final_blocks,
    keyword_traffic,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not ON_KAFKA, reason="Kafka transactions: `make test-kafka`"),
]

MESSAGES = 3000
FENCES = 3
USERS = [f"+1305555{n:04d}" for n in range(200, 240)]
BUSINESSES = [f"+130555501{n:02d}" for n in range(5)]


def group_of(stack: Stack, agents: str) -> str:
    return f"{stack.app_id}-{'-'.join(sorted(agents.split(',')))}"  # as the README says


async def stream_and_fence(
    stack: Stack, topic: str, records: list[tuple[bytes, bytes]], transactional_id: str
) -> None:
    """Produce the (key, value) records; at FENCES points on the way, start a producer with an
    agent's transactional id (`transactional_id` with `{partition}` in it) for every partition,
    as a worker taking a partition over would."""
    bootstrap = stack.broker.bootstrap
    partitions = await partitions_of(bootstrap, topic)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for n, (key, value) in enumerate(records):
            await producer.send(topic, value, key=key)
            if n and n % (len(records) // (FENCES + 1)) == 0:
                await producer.flush()
                await asyncio.sleep(0.5)  # transactions open on the worker's side
                for partition in partitions:
                    fencing = AIOKafkaProducer(
                        bootstrap_servers=bootstrap,
                        transactional_id=transactional_id.format(partition=partition),
                    )
                    await fencing.start()  # aborts the worker's open transaction, fences it
                    await fencing.stop()
        await producer.flush()
    finally:
        await producer.stop()


def encoded_inbound(inbound: list[Record]) -> list[tuple[bytes, bytes]]:
    serde = AvroSerde("inbound_message", "inbound-messages")
    now = int(time.time() * 1000)
    return [(m["from_number"].encode(), serde.encode({**m, "received_at": now})) for m in inbound]


def test_a_fenced_worker_undoes_its_writes_and_doubles_nothing(tmp_path: Path) -> None:
    agents = "classify,reply,webhook,send"
    with Stack(tmp_path, agents=agents, OPTOUT_PROCESSING_GUARANTEE="exactly_once") as stack:
        inbound = keyword_traffic("fenced", USERS, BUSINESSES, MESSAGES, seed=7)
        expected = final_blocks(inbound)
        classify_ids = f"{group_of(stack, agents)}-classify-{{partition}}"
        fenced = stream_and_fence(stack, "inbound-messages", encoded_inbound(inbound), classify_ids)
        stack.run(fenced, timeout=600)

        webhooks = {m["message_id"] for m in inbound}
        eventually(
            lambda: webhooks <= {r.headers["Idempotency-Key"] for r in stack.webhook_a.received},
            timeout=300,
            what="every message's webhook",
        )
        pairs = sorted(expected)
        body = {"pairs": [{"number": n, "sender": s} for n, s in pairs]}
        status, answer = stack.http("POST", "/v1/blocklist/check", body)
        assert status == 200, answer
        assert {(r["number"], r["sender"]): r["blocked"] for r in answer["results"]} == expected
        found = doubled(stack)
        assert found == {topic: {} for topic in found}
        log = stack.worker_log_text()
        assert "aborting the transaction of partition" in log, "no transaction was fenced"


def test_a_fenced_gate_hands_each_send_over_or_rejects_it_once(tmp_path: Path) -> None:
    agents = "classify,send"
    business, sends = BUSINESSES[0], 1500
    with Stack(tmp_path, agents=agents, OPTOUT_PROCESSING_GUARANTEE="exactly_once") as stack:
        stopped = USERS[::2]
        for n, user in enumerate(stopped):
            stack.inbound(f"gate-stop-{n}", user, business, "STOP")
        for user in stopped:
            eventually(lambda u=user: blocked(stack, business, u), what=f"{user} blocked")

        serde = AvroSerde("outbound_message", "outbound-messages")
        records, to = [], {}
        for n in range(sends):
            user, message_id = USERS[n % len(USERS)], f"fenced-send-{n}"
            to[message_id] = user
            send = {
                "message_id": message_id, "channel": "SMS", "from_number": business,
                "to_number": user, "text": "Your order shipped", "media_urls": [],
                "reference": None, "category": None, "requested_at": int(time.time() * 1000),
            }  # fmt: skip
            key = message_id if n % 5 == 0 else user  # one in five re-keyed by the gate first
            records.append((key.encode(), serde.encode(send)))
        gate_ids = f"{group_of(stack, agents)}-gate-{{partition}}"
        stack.run(stream_and_fence(stack, "outbound-messages", records, gate_ids), timeout=600)

        def results() -> list[Record]:
            return stack.read_topic("send-results", "send_result")

        eventually(lambda: {r["message_id"] for r in results()} >= set(to), timeout=300,
                   what="a result for every send")  # fmt: skip
        handed_over = [
            s["message_id"] for s in stack.read_topic("carrier-sends", "outbound_message")
        ]
        rejected = [r["message_id"] for r in results() if r["status"] == "REJECTED"]
        assert sorted(handed_over + rejected) == sorted(to), "a send twice, or none"
        assert set(rejected) == {m for m, user in to.items() if user in stopped}
        log = stack.worker_log_text()
        assert "gate: aborting the transaction of partition" in log, "no transaction was fenced"


def test_a_fenced_manage_applies_an_imported_list_once(tmp_path: Path) -> None:
    agents = "classify"
    business, users = BUSINESSES[1], [f"+1305556{n:04d}" for n in range(400)]
    with Stack(tmp_path, agents=agents, OPTOUT_PROCESSING_GUARANTEE="exactly_once") as stack:
        serde = AvroSerde("blocklist_command", "blocklist-commands")
        records, expected = [], {}
        # Three months of lines per end user: an opt-out, the same again (already so), then an
        # opt-in for one in two (a lift) or the opt-out once more.
        for n in range(3 * len(users)):
            month, user = n // len(users), users[n % len(users)]
            action = "opt_in" if month == 2 and n % 2 else "opt_out"
            line = {"number": business, "user": user, "action": action,
                    "at": f"2024-0{month + 1}-01T00:00:00Z", "source": "crm"}  # fmt: skip
            made, problem = import_command(
                line, f"fenced.csv:{n + 2}", "test", int(time.time() * 1000)
            )
            assert made is not None, problem
            records.append((user.encode(), serde.encode(made)))
            expected[(business, user)] = action == "opt_out"
        manage_ids = f"{group_of(stack, agents)}-manage-{{partition}}"
        stack.run(stream_and_fence(stack, "blocklist-commands", records, manage_ids), timeout=600)

        def imported() -> list[Record]:
            events = stack.read_topic("optout-events", "optout_event")
            return [e for e in events if (e.get("origin") or "").startswith("fenced.csv:")]

        changes = len(users) + len(users) // 2  # every block, and the lifts
        eventually(lambda: len(imported()) >= changes, timeout=300, what="every change's event")
        assert sorted(e["event_id"] for e in imported()) == sorted(
            {e["event_id"] for e in imported()}
        )
        assert len(imported()) == changes
        body = {"pairs": [{"number": n, "sender": s} for n, s in sorted(expected)]}
        status, answer = stack.http("POST", "/v1/blocklist/check", body)
        assert status == 200, answer
        assert {(r["number"], r["sender"]): r["blocked"] for r in answer["results"]} == expected
