"""The embedded broker's fetches that skip records, and the workaround that embedded mode turns on
(streams/embedded/tansu_quirks.py, quirk 3)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.consumer.fetcher import PartitionRecords
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords

from optout.streams.embedded import tansu_quirks
from optout.streams.topics import ensure_topics
from tests.support import ON_KAFKA, BrokerForTests

PRODUCERS = 4
RECORDS_EACH = 5000


def record_batch(base_offset: int, count: int) -> bytes:
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=0,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1 << 20,
    )
    for n in range(count):
        builder.append(n, timestamp=None, key=None, value=b"%d" % (base_offset + n), headers=[])
    batch = bytearray(builder.build())
    batch[0:8] = base_offset.to_bytes(8, "big")  # a batch's first field is its base offset
    return bytes(batch)


def fetched(fetch_offset: int, *batches: bytes) -> PartitionRecords:
    """What a consumer makes of one Fetch response for one partition."""
    records = MemoryRecords(b"".join(batches))
    return PartitionRecords(TopicPartition("t", 0), records, [], fetch_offset, None, None, False, 0)


@pytest.fixture
def workaround(monkeypatch: pytest.MonkeyPatch) -> None:
    if ON_KAFKA:
        # Process-wide: left installed, every later consumer of this test process would take
        # Kafka's transaction markers for skipped ranges and wait at each. (On the embedded
        # broker it stays, as it always has: the later tests' consumers meet the quirk too.)
        original = PartitionRecords._unpack_records  # noqa: SLF001 - what the patch replaces
        monkeypatch.setattr(PartitionRecords, "_unpack_records", original)
        monkeypatch.setattr(PartitionRecords, "_optout_no_skipping", False, raising=False)
    tansu_quirks.install_skipped_records_workaround()
    monkeypatch.setattr(tansu_quirks, "SKIPPED_RANGE_PATIENCE_S", 30.0)


def test_a_fetch_that_jumps_ahead_stops_at_the_jump_and_asks_again_from_there(
    workaround: None,
) -> None:
    records = fetched(0, record_batch(0, 10), record_batch(20, 10))
    assert [r.offset for r in records] == list(range(10))
    assert records.next_fetch_offset == 10  # the next fetch asks for offsets 10.. again

    again = fetched(10, record_batch(10, 10), record_batch(20, 10))
    assert [r.offset for r in again] == list(range(10, 30))
    assert again.next_fetch_offset == 30


def test_a_range_missing_for_longer_than_the_patience_is_skipped_with_an_error(
    workaround: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(tansu_quirks, "SKIPPED_RANGE_PATIENCE_S", 0.0)
    with caplog.at_level(logging.ERROR, logger=tansu_quirks.__name__):
        records = fetched(0, record_batch(0, 5), record_batch(8, 2))
        assert [r.offset for r in records] == [0, 1, 2, 3, 4, 8, 9]
    assert "offsets 5..7 missing" in caplog.text


async def _tail_while_producers_write(bootstrap: str) -> tuple[int, list[tuple[int, int, int]]]:
    await ensure_topics(bootstrap, 4, 1, names=["tailed"])
    consumer = AIOKafkaConsumer(
        "tailed", bootstrap_servers=bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=10
    )
    await consumer.start()
    jumps: list[tuple[int, int, int]] = []  # partition, last offset read, next offset read
    last: dict[int, int] = {}
    read = 0

    async def tail() -> None:
        nonlocal read
        while read < PRODUCERS * RECORDS_EACH:
            for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                for record in records:
                    if record.offset != last.get(tp.partition, -1) + 1:
                        jumps.append((tp.partition, last.get(tp.partition, -1), record.offset))
                    last[tp.partition] = record.offset
                    read += 1

    tailing = asyncio.create_task(tail())
    await asyncio.gather(*(_produce(bootstrap, f"p{n}") for n in range(PRODUCERS)))
    with contextlib.suppress(TimeoutError):  # a record never read: `read` says so
        await asyncio.wait_for(tailing, timeout=60)
    await consumer.stop()
    return read, jumps


async def _produce(bootstrap: str, name: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await producer.start()
    for start in range(0, RECORDS_EACH, 50):
        sent = [
            await producer.send("tailed", b"x" * 100, key=f"{name}-{n % 40}".encode())
            for n in range(start, start + 50)
        ]
        await asyncio.gather(*sent)
    await producer.stop()


@pytest.mark.e2e
def test_a_consumer_tailing_concurrent_producers_reads_every_record_in_order(
    workaround: None, broker: BrokerForTests
) -> None:
    read, jumps = asyncio.run(_tail_while_producers_write(broker.bootstrap))
    assert jumps == []
    assert read == PRODUCERS * RECORDS_EACH
