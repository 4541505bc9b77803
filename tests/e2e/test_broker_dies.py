"""A broker dies mid-stream (Apache Kafka only: the embedded broker is one process with nothing
to fail over to). A node leading partitions of `inbound-messages` and of the block list's
changelog is killed with SIGKILL while messages stream in, taking a member of the controller
quorum with it; the pipeline goes on with idempotent producers and acks=all, lookups stay right
or answer 503, nothing is lost, and the node catches up once restarted."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from optout.schemas import AvroSerde, Record
from tests.support import ON_KAFKA, Stack, doubled, eventually, final_blocks, keyword_traffic

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not ON_KAFKA, reason="a replicated cluster only: `make test-kafka`"),
]

MESSAGES = 3000
USERS = [f"+1405555{n:04d}" for n in range(110, 140)]
BUSINESSES = [f"+140555501{n:02d}" for n in range(5)]


async def leaders(bootstrap: str, topic: str) -> set[int]:
    """The nodes leading a partition of `topic`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return {p["leader"] for p in described["partitions"]}
    finally:
        await admin.close()


async def produce(bootstrap: str, inbound: list[Record], kill: asyncio.Event) -> None:
    serde = AvroSerde("inbound_message", "inbound-messages")
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        for n, message in enumerate(inbound):
            message["received_at"] = int(time.time() * 1000)
            await producer.send_and_wait(
                "inbound-messages", serde.encode(message), key=message["from_number"].encode()
            )
            if n == MESSAGES // 3:
                kill.set()
                await asyncio.sleep(0)
    finally:
        await producer.stop()


@pytest.mark.parametrize(
    ("victim_is", "guarantee"),
    [
        ("partition leader", "at_least_once"),
        ("active controller", "at_least_once"),
        ("partition leader", "exactly_once"),
    ],
)
def test_a_node_dies_mid_stream_and_nothing_is_lost(
    tmp_path: Path, victim_is: str, guarantee: str
) -> None:
    """The node leading partitions of `inbound-messages` and of the block list's changelog, or
    the quorum's leader (the active controller, whose loss means an election); with Kafka
    transactions, the transactions that node coordinated move to another and nothing is on a
    topic twice."""
    with Stack(tmp_path, OPTOUT_PROCESSING_GUARANTEE=guarantee) as stack:
        cluster = stack.broker.cluster  # type: ignore[attr-defined]
        bootstrap = stack.broker.bootstrap
        inbound = keyword_traffic("dies", USERS, BUSINESSES, MESSAGES, seed=4)
        expected = final_blocks(inbound)
        inbound_leaders = stack.run(leaders(bootstrap, "inbound-messages"))
        both = inbound_leaders & stack.run(leaders(bootstrap, "blocklist-changelog"))
        if victim_is == "active controller":
            victim = cluster.quorum_leader()
            assert victim is not None, "no quorum leader recorded"
        else:
            victim = min(both or inbound_leaders)

        async def stream_and_kill() -> None:
            kill = asyncio.Event()
            producing = asyncio.ensure_future(produce(bootstrap, inbound, kill))
            await kill.wait()
            cluster.kill_node(victim)  # SIGKILL: a controller of the quorum goes with it
            await producing

        stack.run(stream_and_kill(), timeout=600)
        pairs = sorted(expected)

        def answers() -> tuple[int, dict]:
            body = {"pairs": [{"number": n, "sender": s} for n, s in pairs]}
            return stack.http("POST", "/v1/blocklist/check", body)

        def right_everywhere() -> bool:
            status, answer = answers()
            assert status in (200, 503), answer  # "try again" while leaders move
            if status != 200:
                return False
            return {(r["number"], r["sender"]): r["blocked"] for r in answer["results"]} == expected

        webhooks = {m["message_id"] for m in inbound}
        eventually(
            lambda: webhooks <= {r.headers["Idempotency-Key"] for r in stack.webhook_a.received},
            timeout=300,
            what="every message's webhook with a node down",
        )
        eventually(right_everywhere, timeout=120, what="every pair right with a node down")
        if victim_is == "active controller":
            assert cluster.quorum_leader() not in (None, victim), "no new controller elected"

        cluster.start_node(victim)
        stack.run(cluster.wait_until_up())
        eventually(right_everywhere, timeout=60, what="every pair right once the node is back")
        if guarantee == "exactly_once":
            found = doubled(stack)
            assert found == {topic: {} for topic in found}
        print(f"killed node {victim} ({victim_is}; inbound-messages leaders {inbound_leaders}); "
              f"{len(webhooks)} messages, {sum(expected.values())} pairs blocked")  # fmt: skip
