"""The embedded broker's wrong end offsets, and the workaround that embedded mode turns on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from optout.streams.broker import EmbeddedBroker, free_port
from optout.streams.broker_quirks import true_end_offsets

pytestmark = pytest.mark.e2e
RECORDS = 5000


@pytest.fixture(scope="module")
def broker() -> Iterator[EmbeddedBroker]:
    running = EmbeddedBroker(free_port())
    running.start()
    yield running
    running.stop()


async def _fill_and_ask(bootstrap: str) -> tuple[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic("quirk", num_partitions=1, replication_factor=1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    sent = [await producer.send("quirk", b"x" * 100) for _ in range(RECORDS)]
    await asyncio.gather(*sent)
    await producer.stop()
    tp = TopicPartition("quirk", 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        reported = (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()
    corrected = (await true_end_offsets(bootstrap, {tp: reported}))[tp]
    return reported, corrected


def test_end_offsets_are_wrong_and_the_workaround_finds_the_true_end(
    broker: EmbeddedBroker,
) -> None:
    reported, corrected = asyncio.run(_fill_and_ask(broker.bootstrap))
    assert reported < RECORDS, "the broker answered right: the workaround may no longer be needed"
    assert corrected == RECORDS
