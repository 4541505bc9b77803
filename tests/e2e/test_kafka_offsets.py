"""Apache Kafka's own offsets, where the embedded broker forced a workaround (Kafka only).

On Kafka the service asks the broker and takes its answer: `ListOffsets(latest)` for the gate's
"after" (streams/runtime/broker_ends.py) and Faust's table recovery, no correction fetch; the
embedded broker's wrong answer and its correction are in test_broker_quirks.py.
"""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faust.types import TP

from optout.streams.runtime.broker_ends import BrokerEnds
from optout.streams.topics import ensure_topics
from tests.support import ON_KAFKA, REPLICATION, BrokerForTests

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not ON_KAFKA, reason="Apache Kafka's answers: `make test-kafka`"),
]
RECORDS = 5000
TOPIC = "kafka-offsets"


async def _fill(bootstrap: str) -> None:
    await ensure_topics(bootstrap, 2, REPLICATION, names=[TOPIC])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    try:
        # Batched as a carrier's producer batches: where the embedded broker answers one past
        # the last batch's first offset.
        sent = [await producer.send(TOPIC, b"x" * 100, partition=0) for _ in range(RECORDS)]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _ends(bootstrap: str) -> tuple[int, dict[TP, int]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        tp = TopicPartition(TOPIC, 0)
        listed = (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()
    gate_ends = BrokerEnds(bootstrap, "kafka-offsets-test", embedded=False)
    try:
        return listed, await gate_ends.ends([TP(TOPIC, 0), TP(TOPIC, 1)])
    finally:
        await gate_ends.stop()


def test_list_offsets_is_the_true_end_and_the_gate_takes_it_as_it_is(
    broker: BrokerForTests,
) -> None:
    asyncio.run(_fill(broker.bootstrap))
    listed, gate_ends = asyncio.run(_ends(broker.bootstrap))
    assert listed == RECORDS
    assert gate_ends == {TP(TOPIC, 0): RECORDS, TP(TOPIC, 1): 0}
