"""Workarounds for the embedded broker's quirks, turned on in embedded mode only.

1. Fetches are not woken by new records.
Tansu 0.6.0 holds a Fetch for its full max wait even when records arrive meanwhile;
Faust asks for 1,500 ms, so every hop of the pipeline took most of that (measured: about 615 ms
per hop, where Kafka answers at once). In embedded mode the worker's consumer waits at most
EMBEDDED_FETCH_MAX_WAIT_MS instead.

2. Wrong end offsets. Tansu 0.6.0 answers ListOffsets(latest) with the base offset of a
partition's last record batch plus one, not the last offset plus one: after 5,000 records sent
in batches it may say 4,885.
Faust's table recovery reads changelogs up to that answer, so it can stop short of the true end
or refuse to start ("persisted offset is higher than highwater"). The high watermark in a Fetch
response is right, so the true end is: fetch once from just below the reported end, and take the
high watermark the broker sends back. Apache Kafka has no such bug and needs none of this.

3. Fetches that skip records. While several producers write to one partition, a Fetch may
return records past a range that is not yet readable (measured: a raw aiokafka consumer tailing
4 producers' 40,000 records missed 15 or 16 of them in 2 of 5 runs; with one producer, never).
The consumer's position moves past the range, Faust counts the range as a gap it may commit,
and those records are never processed: in the crash test 467 of 20,000 messages were lost.
In embedded mode a fetch that jumps ahead of the position is cut at the jump, so the next fetch
asks again from where the records are missing; a range still missing after
SKIPPED_RANGE_PATIENCE_S (the records are really gone, as compaction would do) is skipped with
an error in the log.

4. Per-partition fetch limits ignored. Tansu 0.6.0 answers a Fetch with up to the request's
total limit (aiokafka's default: 50 MiB) whatever each partition's limit says: asked for at most
64 KiB from one partition it sent 2.5 MB, its whole log. A worker restoring a long block list
held such responses (peak RSS grew with the list: 1,000,000 entries, +52 MB for reading alone).
In embedded mode a worker's consumer fetches at most WHOLE_FETCH_PARTITIONS times its
per-partition limit in total (reading the same list with the total at the per-partition limit:
+10 MB). One partition's worth in total slowed the pipeline (one run each: 801 events/s,
against 946 with four partitions' worth and 954 with no limit).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.consumer.fetcher import PartitionRecords
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

__all__ = [
    "EMBEDDED_FETCH_MAX_WAIT_MS",
    "FETCH_ATTEMPTS",
    "SKIPPED_RANGE_PATIENCE_S",
    "WHOLE_FETCH_PARTITIONS",
    "install_end_offset_workaround",
    "install_fetch_workarounds",
    "install_skipped_records_workaround",
    "true_end_offsets",
]

log = logging.getLogger(__name__)

FETCH_ATTEMPTS = 20
EMBEDDED_FETCH_MAX_WAIT_MS = 10
SKIPPED_RANGE_PATIENCE_S = 30.0
WHOLE_FETCH_PARTITIONS = 4


def install_fetch_workarounds(max_wait_ms: int = EMBEDDED_FETCH_MAX_WAIT_MS) -> None:
    """Make Faust's consumer poll the embedded broker every `max_wait_ms` at most (quirk 1),
    and hold its whole fetch to a few partitions' worth (quirk 4)."""
    thread_class = faust_aiokafka.AIOKafkaConsumerThread
    if getattr(thread_class, "_optout_short_fetch_wait", False):
        return
    create_consumer = thread_class._create_worker_consumer

    def _create_worker_consumer(self, transport):  # type: ignore[no-untyped-def]
        consumer = create_consumer(self, transport)
        # Both are read when the consumer starts its fetcher.
        consumer._fetch_max_wait_ms = max_wait_ms
        consumer._fetch_max_bytes = WHOLE_FETCH_PARTITIONS * consumer._max_partition_fetch_bytes
        return consumer

    thread_class._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]
    thread_class._optout_short_fetch_wait = True  # type: ignore[attr-defined]


async def true_end_offsets(
    bootstrap: str, reported: Mapping[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """End offsets (last offset + 1) from Fetch high watermarks; never less than `reported`."""
    partitions = [tp for tp in reported if reported[tp]]
    ends = dict(reported)
    if not partitions:
        return ends
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await probe.start()
    try:
        probe.assign(partitions)
        for tp in partitions:
            probe.seek(tp, reported[tp] - 1)
        for _ in range(FETCH_ATTEMPTS):
            await probe.getmany(*partitions, timeout_ms=250, max_records=1)
            if all(probe.highwater(tp) is not None for tp in partitions):
                break
        for tp in partitions:
            highwater = probe.highwater(tp)
            if highwater is not None and highwater > reported[tp]:
                ends[tp] = highwater
    finally:
        await probe.stop()
    return ends


def install_end_offset_workaround(bootstrap: str) -> None:
    """Make Faust's recovery use true end offsets (embedded broker only)."""
    thread_class = faust_aiokafka.AIOKafkaConsumerThread
    if getattr(thread_class, "_optout_true_end_offsets", False):
        return
    reported_highwaters = thread_class._highwaters

    async def _highwaters(self, partitions: list[TP]):  # type: ignore[no-untyped-def]
        reported = await reported_highwaters(self, partitions)
        if self.consumer.in_transaction:
            return reported
        ends = await true_end_offsets(bootstrap, reported)
        corrected = {tp: (reported[tp], ends[tp]) for tp in ends if ends[tp] != reported[tp]}
        if corrected:
            log.info("embedded broker end offsets corrected (reported, true): %s", corrected)
        return ends

    thread_class._highwaters = _highwaters  # type: ignore[method-assign]
    thread_class._optout_true_end_offsets = True  # type: ignore[attr-defined]


def install_skipped_records_workaround() -> None:
    """Make every aiokafka consumer in this process fetch again rather than jump over records."""
    if getattr(PartitionRecords, "_optout_no_skipping", False):
        return
    unpack_records = PartitionRecords._unpack_records
    first_missed: dict[tuple[TopicPartition, int], float] = {}  # (partition, offset): when

    def _unpack_records(self):  # type: ignore[no-untyped-def]
        expected = self.next_fetch_offset
        for record in unpack_records(self):
            if record.offset > expected and _still_waiting(self._tp, expected, record.offset):
                self.next_fetch_offset = expected  # the next fetch starts at the missing range
                return
            first_missed.pop((self._tp, expected), None)
            expected = record.offset + 1
            yield record

    def _still_waiting(tp: TopicPartition, expected: int, got: int) -> bool:
        since = first_missed.setdefault((tp, expected), time.monotonic())
        if time.monotonic() - since < SKIPPED_RANGE_PATIENCE_S:
            log.info("embedded broker skipped %s offsets %d..%d; fetching again", tp, expected, got)
            return True
        log.error(
            "embedded broker: %s offsets %d..%d missing for %.0fs; skipped",
            tp,
            expected,
            got - 1,
            SKIPPED_RANGE_PATIENCE_S,
        )
        del first_missed[(tp, expected)]
        return False

    PartitionRecords._unpack_records = _unpack_records  # type: ignore[method-assign]
    PartitionRecords._optout_no_skipping = True  # type: ignore[attr-defined]
