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
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka

log = logging.getLogger(__name__)

FETCH_ATTEMPTS = 20
EMBEDDED_FETCH_MAX_WAIT_MS = 10


def install_fetch_wait_workaround(max_wait_ms: int = EMBEDDED_FETCH_MAX_WAIT_MS) -> None:
    """Make Faust's consumer poll the embedded broker every `max_wait_ms` at most."""
    thread_class = faust_aiokafka.AIOKafkaConsumerThread
    if getattr(thread_class, "_optout_short_fetch_wait", False):
        return
    create_consumer = thread_class._create_worker_consumer

    def _create_worker_consumer(self, transport):  # type: ignore[no-untyped-def]
        consumer = create_consumer(self, transport)
        consumer._fetch_max_wait_ms = max_wait_ms  # read when the consumer starts its fetcher
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

    async def _highwaters(self, partitions: Iterable[TopicPartition]):  # type: ignore[no-untyped-def]
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
