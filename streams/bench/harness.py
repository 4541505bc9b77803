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
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from optout.schemas import AvroSerde
from optout.streams.embedded.broker import EmbeddedBroker, free_port
from optout.streams.topics import INBOUND_TOPIC, ensure_topics

__all__ = [
    "drain_rate",
    "embedded_broker",
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


@contextlib.asynccontextmanager
async def embedded_broker(partitions: int = 4) -> AsyncIterator[EmbeddedBroker]:
    """A fresh embedded broker on a free port, with every topic of the service created."""
    with EmbeddedBroker(free_port()) as broker:
        await ensure_topics(broker.bootstrap, partitions, 1)
        yield broker


def spawn(
    bootstrap: str,
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
        "OPTOUT_BROKER_URL": bootstrap,
        "OPTOUT_EMBEDDED_BROKER": "true",
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


async def drain_rate(bootstrap: str, topic: str, count: int) -> float:
    """Events per second from the first of `count` records on `topic` to the last (broker
    timestamps), waiting until they all exist."""
    stamps = await timestamps(bootstrap, topic, count, timeout=1800)
    return count / max((max(stamps) - min(stamps)) / 1000, 1e-3)


async def timestamps(bootstrap: str, topic: str, count: int, timeout: float) -> list[int]:
    """Broker timestamps of the first `count` records of `topic`, waiting until they exist."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    stamps: list[int] = []
    deadline = time.monotonic() + timeout
    try:
        while len(stamps) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(stamps):,} of {count:,} webhook records")
            batches = await consumer.getmany(timeout_ms=1000)
            stamps += [r.timestamp for records in batches.values() for r in records]
            print(f"\r  {len(stamps):,}/{count:,} processed", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        return stamps[:count]
    finally:
        await consumer.stop()
