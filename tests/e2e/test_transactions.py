"""Exactly-once on Apache Kafka (OPTOUT_PROCESSING_GUARANTEE=exactly_once): a worker whose
transactions are fenced mid-stream, as when another worker takes its partitions over, aborts
them, puts its tables back as they were before them, and handles those messages again with a
new producer. Nothing is lost, no pair is wrong, and a consumer reading committed records sees
every webhook, reply and consent event once. (The kill -9 crash test runs exactly-once on Kafka
too: tests/e2e/test_crash.py.)"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from optout.schemas import AvroSerde, Record
from optout.streams.topics import partitions_of
from tests.support import ON_KAFKA, Stack, doubled, eventually, final_blocks, keyword_traffic

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not ON_KAFKA, reason="Kafka transactions: `make test-kafka`"),
]

MESSAGES = 3000
FENCES = 3
USERS = [f"+1305555{n:04d}" for n in range(200, 240)]
BUSINESSES = [f"+130555501{n:02d}" for n in range(5)]


async def stream_and_fence(stack: Stack, inbound: list[Record], group_id: str) -> None:
    """Produce the messages; at FENCES points on the way, start a producer with each of
    classify's transactional ids, as a worker taking a partition over would."""
    serde = AvroSerde("inbound_message", "inbound-messages")
    bootstrap = stack.broker.bootstrap
    partitions = await partitions_of(bootstrap, "inbound-messages")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for n, message in enumerate(inbound):
            message["received_at"] = int(time.time() * 1000)
            await producer.send(
                "inbound-messages", serde.encode(message), key=message["from_number"].encode()
            )
            if n and n % (MESSAGES // (FENCES + 1)) == 0:
                await producer.flush()
                await asyncio.sleep(0.5)  # transactions open on the worker's side
                for partition in partitions:
                    fencing = AIOKafkaProducer(
                        bootstrap_servers=bootstrap,
                        transactional_id=f"{group_id}-classify-{partition}",
                    )
                    await fencing.start()  # aborts the worker's open transaction, fences it
                    await fencing.stop()
        await producer.flush()
    finally:
        await producer.stop()


def test_a_fenced_worker_undoes_its_writes_and_doubles_nothing(tmp_path: Path) -> None:
    agents = "classify,reply,webhook,send"
    with Stack(tmp_path, agents=agents, OPTOUT_PROCESSING_GUARANTEE="exactly_once") as stack:
        inbound = keyword_traffic("fenced", USERS, BUSINESSES, MESSAGES, seed=7)
        expected = final_blocks(inbound)
        group_id = f"{stack.app_id}-{'-'.join(sorted(agents.split(',')))}"  # as README says
        stack.run(stream_and_fence(stack, inbound, group_id), timeout=600)

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
