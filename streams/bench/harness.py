"""The benchmarks' shared harness: an embedded broker with the service's topics, worker and
replica processes, readiness, latency percentiles and peak memory. Each benchmark is a module of
its own beside this one and prints figures against a baseline measured in the same run."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from optout.schemas import AvroSerde
from optout.streams.config import Config
from optout.streams.embedded.broker import EmbeddedBroker, free_port
from optout.streams.topics import ALL_TOPICS, INBOUND_TOPIC, ensure_topics, partitions_of

# Topics a benchmark leaves besides the service's: its own (streams/topics.py, the raw stages'
# prefixes), Quix Streams' changelogs, and the workers' Faust leader topic.
BENCH_TOPIC_PREFIXES = ("bench-", "changelog__bench-")
DELETE_TIMEOUT_S = 60.0

__all__ = [
    "BenchBroker",
    "bench_broker",
    "drain_rate",
    "end_offsets",
    "Latencies",
    "latencies_at",
    "offer_at_rate",
    "peak_rss_mb",
    "percentiles",
    "produce_inbound",
    "produce_stamped",
    "say",
    "spawn",
    "stop_all",
    "timestamps",
    "wait_for",
    "wait_ready",
]


@dataclass(frozen=True)
class BenchBroker:
    """Where a benchmark runs: a fresh embedded broker, or a Kafka cluster named by URL."""

    bootstrap: str
    embedded: bool
    replication: int

    def topics(self, partitions: int, names: Iterable[str], **configs: str) -> Awaitable[None]:
        """Create these topics (the benchmark's own), replicated as the service's are here."""
        return ensure_topics(
            self.bootstrap, partitions, self.replication, names=names, configs=configs or None
        )


@contextlib.asynccontextmanager
async def bench_broker(
    partitions: int = 4, url: str | None = None, wipe: bool = False
) -> AsyncIterator[BenchBroker]:
    """A fresh embedded broker on a free port or, with `url`, that Kafka cluster (its records of
    an earlier run would skew every figure, so the service's and the benchmarks' topics must not
    exist there, or `wipe` deletes them first), with every topic of the service created."""
    if url is None:
        with EmbeddedBroker(free_port()) as embedded:
            broker = BenchBroker(embedded.bootstrap, embedded=True, replication=1)
            await ensure_topics(broker.bootstrap, partitions, broker.replication)
            yield broker
        return
    broker = BenchBroker(url, embedded=False, replication=await _replication(url))
    await _clear(url, wipe)
    await ensure_topics(broker.bootstrap, partitions, broker.replication)
    yield broker


async def _replication(bootstrap: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        brokers = (await admin.describe_cluster())["brokers"]
        return min(3, len(brokers))
    finally:
        await admin.close()


async def _clear(bootstrap: str, wipe: bool) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        ours = sorted(
            name for name in await admin.list_topics()
            if name in ALL_TOPICS
            or name.startswith(BENCH_TOPIC_PREFIXES)
            or name == f"{Config().group_id}-__assignor-__leader"
        )  # fmt: skip
        if ours and not wipe:
            raise SystemExit(
                f"{bootstrap} already has {len(ours)} of the service's or the benchmarks' topics "
                f"({', '.join(ours[:3])}, ...): their records would skew the figures. Pass "
                "--wipe to delete them first (every record on them is lost), or use a cluster "
                "of its own."
            )
        if ours:
            say(f"deleting {len(ours)} topics on {bootstrap} (--wipe) ...")
            await admin.delete_topics(ours)
            deadline = time.monotonic() + DELETE_TIMEOUT_S
            while left := set(ours) & set(await admin.list_topics()):
                if time.monotonic() > deadline:
                    raise SystemExit(f"{len(left)} topics still not deleted on {bootstrap}")
                await asyncio.sleep(0.5)
    finally:
        await admin.close()


def spawn(
    broker: BenchBroker,
    tmp: Path,
    role: str,
    port: int,
    log_level: str = "warning",
    log_name: str | None = None,
    agents: str = "classify",
    **settings: str,
) -> subprocess.Popen[bytes]:
    """A worker running `agents` (role "worker") or a lookup replica (role "lookups") on
    `port`, with its data in `tmp`/`log_name` and its log in `tmp`/`log_name`.log; `settings`
    are OPTOUT_* variables besides."""
    env = os.environ | {
        "OPTOUT_BROKER_URL": broker.bootstrap,
        "OPTOUT_EMBEDDED_BROKER": "true" if broker.embedded else "false",
        "OPTOUT_REPLICATION_FACTOR": str(broker.replication),
        "OPTOUT_DATA_DIR": str(tmp / (log_name or role)),
        "OPTOUT_WEB_PORT": str(port),
        "OPTOUT_LOOKUP_PORT": str(port),
        "OPTOUT_LOG_LEVEL": log_level,
        **settings,
    }
    command = [sys.executable, "-m", "optout.streams.cli", role]
    if role == "worker":
        command += ["--agents", agents]
    with (tmp / f"{log_name or role}.log").open("wb") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


async def wait_ready(
    session: aiohttp.ClientSession,
    web_url: str,
    process: subprocess.Popen | multiprocessing.process.BaseProcess,
    timeout: float = 150.0,
) -> None:
    print(f"waiting for {web_url} to be ready ...", file=sys.stderr)
    for _ in range(int(timeout / 0.5)):
        exited = process.poll() if isinstance(process, subprocess.Popen) else process.exitcode
        if exited is not None:
            raise RuntimeError(f"the process behind {web_url} exited")
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"{web_url}/healthz") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{web_url} did not get ready")


async def wait_for(condition: Callable[[], bool], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not hold in time")
        await asyncio.sleep(0.2)


def stop_all(processes: Sequence[subprocess.Popen[bytes] | None]) -> None:
    """Terminate the processes that were started, and wait for each."""
    for process in processes:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)


def percentiles(latencies: list[float]) -> dict[str, float]:
    """p50, p99 and max of latencies in seconds, in milliseconds."""
    ordered = sorted(latencies) or [0.0]
    at = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)  # noqa: E731
    return {"p50_ms": at(0.50), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * 1000, 2)}


def peak_rss_mb(pid: int) -> float:
    """A running process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def say(text: str) -> None:
    """Progress, on standard error."""
    print(text, file=sys.stderr, flush=True)


async def produce_inbound(bootstrap: str, records: list[tuple[bytes, dict]]) -> None:
    """Produce inbound messages as a carrier keying by the sender would, received now."""
    await produce_stamped(bootstrap, INBOUND_TOPIC, "inbound_message", records, "received_at")


async def produce_stamped(
    bootstrap: str, topic: str, contract: str, records: list[tuple[bytes, dict]], stamp: str
) -> None:
    """Produce Avro records of `contract` by key, each with its `stamp` field set to now."""
    serde = AvroSerde(contract, topic)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for key, record in records:
            record[stamp] = int(time.time() * 1000)
            await producer.send(topic, serde.encode(record), key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def drain_rate(
    bootstrap: str, topic: str, count: int, after: Mapping[int, int] | None = None
) -> float:
    """Events per second from the first of `count` records on `topic` (after the offsets
    `after` per partition) to the last (broker timestamps), waiting until they all exist."""
    stamps = await timestamps(bootstrap, topic, count, timeout=1800, after=after)
    return count / max((max(stamps) - min(stamps)) / 1000, 1e-3)


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Where each partition of `topic` ends now, for a consumer reading committed."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        return {tp.partition: end for tp, end in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()


# How long a latency run waits for the last results once the load is offered.
LATENCY_QUIET_S = 10.0


class Latencies(NamedTuple):
    """Seconds from each result's start: to its broker timestamp (when it was written), and
    until a consumer reading committed records received it (with exactly-once, after the
    commit; with the consumer's own fetch and this process's load besides)."""

    written: list[float]
    received: list[float]

    def figures(self, rate: int) -> dict[str, dict[str, float]]:
        return {
            "latency_at_rate": {"offered_per_second": rate, **percentiles(self.written)},
            "received_latency_at_rate": {"offered_per_second": rate, **percentiles(self.received)},
        }


async def offer_at_rate(
    bootstrap: str,
    topic: str,
    records: Sequence[tuple[bytes, dict]],
    rate: int,
    serde: AvroSerde,
    stamp: str,
) -> None:
    """Produce the (key, record) pairs at `rate`/s, each with its `stamp` field set to the time
    it is produced (epoch ms), as a latency run's load."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        started = time.perf_counter()
        for n, (key, record) in enumerate(records):
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            record[stamp] = int(time.time() * 1000)
            await producer.send(topic, serde.encode(record), key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def latencies_at(
    bootstrap: str,
    topic: str,
    offer: Callable[[], Awaitable[int]],
    started_at: Callable[[bytes], int | None],
) -> Latencies:
    """Run `offer` (it produces the timed load and returns how many results to expect) while a
    consumer reading committed records follows `topic` from its end; each result's latencies
    from its start (`started_at(value)`, epoch ms; None for a record of no interest). Ends at
    the count expected, or once nothing arrived for LATENCY_QUIET_S after the load was offered."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        isolation_level="read_committed",
        fetch_max_wait_ms=10,
    )
    await consumer.start()
    offering: asyncio.Future[int] | None = None
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)  # the end, fixed before anything is offered
        offering = asyncio.ensure_future(offer())
        latencies = Latencies([], [])
        expected: int | None = None
        quiet_since = time.monotonic()
        while expected is None or (
            len(latencies.written) < expected and time.monotonic() - quiet_since < LATENCY_QUIET_S
        ):
            if expected is None and offering.done():
                expected, quiet_since = offering.result(), time.monotonic()
            batches = await consumer.getmany(timeout_ms=100)
            received_ms = time.time() * 1000
            if batches:
                quiet_since = time.monotonic()
            for records in batches.values():
                for record in records:
                    start = started_at(record.value)
                    if start is not None:
                        latencies.written.append((record.timestamp - start) / 1000)
                        latencies.received.append((received_ms - start) / 1000)
        return latencies
    finally:
        if offering is not None and not offering.done():
            offering.cancel()
        await consumer.stop()


async def timestamps(
    bootstrap: str,
    topic: str,
    count: int,
    timeout: float,
    after: Mapping[int, int] | None = None,
) -> list[int]:
    """Broker timestamps of the first `count` committed records of `topic` (from the offsets
    `after`, else from the start), waiting until they exist."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, isolation_level="read_committed"
    )
    await consumer.start()
    stamps: list[int] = []
    deadline = time.monotonic() + timeout
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, (after or {}).get(tp.partition, 0))
        while len(stamps) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(stamps):,} of {count:,} records on {topic}")
            batches = await consumer.getmany(timeout_ms=1000)
            stamps += [r.timestamp for records in batches.values() for r in records]
            print(f"\r  {len(stamps):,}/{count:,} processed", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        return stamps[:count]
    finally:
        await consumer.stop()
