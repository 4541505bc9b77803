"""Tables brought up to date in bulk before Faust starts (streams/runtime/table_prefill.py): written
where, and as, Faust's own rocksdb store reads them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import faust
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from optout.streams.app import ROCKSDICT
from optout.streams.runtime.table_prefill import prefill_tables
from optout.streams.topics import ensure_topics
from tests.support import BrokerForTests

pytestmark = pytest.mark.e2e
CHANGELOG = "prefill-test-changelog"


def faust_table(datadir: Path) -> faust.Table:
    app = faust.App("prefill-test", store="rocksdb://", datadir=str(datadir), autodiscover=False)
    changelog = app.topic(CHANGELOG, key_serializer="raw", value_serializer="raw", partitions=4)
    return app.Table(
        "prefill-test", partitions=4, key_type=bytes, value_type=bytes,
        changelog_topic=changelog, options=dict(ROCKSDICT),
    )  # fmt: skip


async def send(bootstrap: str, records: list[tuple[bytes, bytes | None]]) -> dict[int, int]:
    """Records by key onto the changelog; the last offset written to each partition."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        sent = [await producer.send(CHANGELOG, value, key=key) for key, value in records]
        last: dict[int, int] = {}
        for written in await asyncio.gather(*sent):
            last[written.partition] = max(written.offset, last.get(written.partition, -1))
        return last
    finally:
        await producer.stop()


def test_prefill_writes_what_faust_reads_and_resumes_from_the_stored_offset(
    tmp_path: Path, broker: BrokerForTests
) -> None:
    asyncio.run(ensure_topics(broker.bootstrap, 4, 1, names=[CHANGELOG]))
    first = [(f"k{n}".encode(), f"v{n}".encode()) for n in range(2000)]
    asyncio.run(send(broker.bootstrap, first))
    applied = asyncio.run(prefill_tables(broker.bootstrap, [faust_table(tmp_path)], 4096))
    assert applied == {CHANGELOG: 2000}

    later = [(b"k1", b"changed"), (b"k2", None), (b"new", b"value")]
    last_offsets = asyncio.run(send(broker.bootstrap, later))
    table = faust_table(tmp_path)
    applied = asyncio.run(prefill_tables(broker.bootstrap, [table], 4096))
    assert applied == {CHANGELOG: 3}

    store = table.data  # Faust's own store over the same files
    stored = {}
    for partition in range(4):
        db = store._db_for_partition(partition)
        stored |= {k: v for k, v in db.items() if k != store.offset_key}
        if partition in last_offsets:
            assert (
                store.persisted_offset(TopicPartition(CHANGELOG, partition))
                == (last_offsets[partition])
            )
    expected = dict(first) | {b"k1": b"changed", b"new": b"value"}
    del expected[b"k2"]
    assert stored == expected
