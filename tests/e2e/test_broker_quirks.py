"""The embedded broker's wrong end offsets, and the workaround that embedded mode turns on."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from optout.streams.embedded.broker import EmbeddedBroker
from optout.streams.embedded.tansu_quirks import EMBEDDED_FETCH_MAX_WAIT_MS, true_end_offsets
from optout.streams.topics import ensure_topics
from tests.support import tansu_only

pytestmark = [pytest.mark.e2e, tansu_only]
RECORDS = 5000


@pytest.fixture(scope="module")
def filled(broker: EmbeddedBroker) -> str:
    """The broker's address, with RECORDS records of 100 bytes in topic "quirk" partition 0."""
    asyncio.run(_fill(broker.bootstrap))
    return broker.bootstrap


async def _fill(bootstrap: str) -> None:
    await ensure_topics(bootstrap, 1, 1, names=["quirk"])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    sent = [await producer.send("quirk", b"x" * 100) for _ in range(RECORDS)]
    await asyncio.gather(*sent)
    await producer.stop()


async def _end_offsets(bootstrap: str) -> tuple[int, int]:
    tp = TopicPartition("quirk", 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        reported = (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()
    corrected = (await true_end_offsets(bootstrap, {tp: reported}))[tp]
    return reported, corrected


def test_end_offsets_are_wrong_and_the_workaround_finds_the_true_end(filled: str) -> None:
    reported, corrected = asyncio.run(_end_offsets(filled))
    assert reported < RECORDS, "the broker answered right: the workaround may no longer be needed"
    assert corrected == RECORDS


async def _fetch_latency_ms(bootstrap: str, max_wait_ms: int) -> float:
    """How long a waiting consumer takes to see a record produced while it waits."""
    topic = f"wake-{max_wait_ms}"
    await ensure_topics(bootstrap, 1, 1, names=[topic])
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, fetch_max_wait_ms=max_wait_ms
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await consumer.start()
    await producer.start()
    try:
        await consumer.getmany(timeout_ms=200)  # the consumer is now waiting in fetches
        latencies = []
        for _ in range(5):
            await asyncio.sleep(0.05)
            started = asyncio.get_running_loop().time()
            await producer.send_and_wait(topic, b"x")
            while not await consumer.getmany(timeout_ms=3000):
                pass
            latencies.append((asyncio.get_running_loop().time() - started) * 1000)
        return sorted(latencies)[2]
    finally:
        await producer.stop()
        await consumer.stop()


def test_fetches_are_not_woken_by_new_records_so_embedded_mode_waits_less(
    broker: EmbeddedBroker,
) -> None:
    faust_default = asyncio.run(_fetch_latency_ms(broker.bootstrap, 1500))
    embedded = asyncio.run(_fetch_latency_ms(broker.bootstrap, EMBEDDED_FETCH_MAX_WAIT_MS))
    assert faust_default > 300, "the broker now wakes fetches: the workaround may be unneeded"
    assert embedded < 100


async def _fetched_bytes(bootstrap: str, partition_limit: int, total_limit: int) -> int:
    """Bytes of records one fetch from the start of "quirk" partition 0 brings."""
    tp = TopicPartition("quirk", 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        max_partition_fetch_bytes=partition_limit,
        fetch_max_bytes=total_limit,
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        records = (await consumer.getmany(tp, timeout_ms=5000)).get(tp, [])
        return sum(len(record.value) for record in records)
    finally:
        await consumer.stop()


def test_fetches_ignore_the_partition_limit_so_embedded_mode_limits_the_whole_fetch(
    filled: str,
) -> None:
    limit = 16 * 1024
    partition_only = asyncio.run(_fetched_bytes(filled, limit, 50 * 1024**2))
    whole_fetch = asyncio.run(_fetched_bytes(filled, limit, limit))
    assert partition_only > 4 * limit, "the broker kept the limit: quirk 4 may be gone"
    assert 0 < whole_fetch <= 2 * limit
