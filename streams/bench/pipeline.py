"""`optout bench pipeline`: the classify path against raw aiokafka, in one run on one broker.

1. Baseline: raw aiokafka consumes `--messages` 300-byte records and produces two records for
   each (no state): the practical limit of this broker and machine. Next to it: the same with
   two hops (re-key, then two outputs), the shape the pipeline had before its one hop; Faust
   agents that do no work, as two hops (streams/bench/faust_hops.py) and as one
   (streams/bench/faust_one_hop.py): the ceiling of a Faust pipeline of each shape; and Quix
   Streams doing the one-hop job with state (streams/bench/quix_peer.py), when installed.
2. Throughput: the same number of realistic inbound messages wait on `inbound-messages`; a
   classify worker (decode, validate, classify, table writes for messages with effects, the
   outputs) drains them; events/s from its first output to its last.
3. Latency at a fixed offered load: inbound messages at `--rate`/s, each timed from its
   received_at until a consumer reading committed records receives its webhook record.
4. Peak resident memory of the worker (VmHWM; the largest, with `--workers` K > 1).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from optout.schemas import AvroSerde
from optout.streams.bench import quix_peer
from optout.streams.bench.harness import (
    BenchBroker,
    Latencies,
    bench_broker,
    drain_rate,
    end_offsets,
    latencies_at,
    offer_at_rate,
    peak_rss_mb,
    produce_inbound,
    say,
    spawn,
    stop_all,
    wait_ready,
)
from optout.streams.bench.traffic import inbound_records
from optout.streams.embedded.broker import free_port
from optout.streams.topics import (
    BENCH_FIRST_HOP_TOPIC,
    BENCH_ONE_HOP_OUTPUT_TOPICS,
    BENCH_ONE_HOP_TOPIC,
    BENCH_OUTPUT_TOPICS,
    BENCH_SECOND_HOP_TOPIC,
    INBOUND_TOPIC,
    WEBHOOK_TOPIC,
)

__all__ = ["PARTITIONS", "bench_pipeline", "faust_no_work_rate", "raw_stages"]

PARTITIONS = 4


def bench_pipeline(
    messages: int,
    rate: int,
    latency_seconds: float,
    workers: int = 1,
    broker_url: str | None = None,
    wipe: bool = False,
) -> dict[str, object]:
    return asyncio.run(_bench_pipeline(messages, rate, latency_seconds, workers, broker_url, wipe))


async def _bench_pipeline(
    messages: int,
    rate: int,
    latency_seconds: float,
    workers: int,
    broker_url: str | None,
    wipe: bool,
) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="optout-bench-") as tmp:
        async with bench_broker(PARTITIONS, broker_url, wipe) as broker:
            processes: list[subprocess.Popen[bytes]] = []
            try:
                baseline = await _raw_baseline(broker, messages)
                two_hops = await _raw_two_hops(broker, messages)
                say(f"baseline: {baseline:,.0f} events/s, two hops {two_hops:,.0f} events/s")
                faust_hops = await faust_no_work_rate(
                    broker, Path(tmp), messages, "bench-hops",
                    BENCH_FIRST_HOP_TOPIC, BENCH_OUTPUT_TOPICS, via=(BENCH_SECOND_HOP_TOPIC,),
                )  # fmt: skip
                faust_one_hop = await faust_no_work_rate(
                    broker, Path(tmp), messages, "bench-one-hop",
                    BENCH_ONE_HOP_TOPIC, BENCH_ONE_HOP_OUTPUT_TOPICS,
                )  # fmt: skip
                quix = await _quix_streams(broker, Path(tmp), messages)
                say(
                    f"Faust: two hops {faust_hops:,.0f}, one hop {faust_one_hop:,.0f} events/s; "
                    f"Quix Streams {quix or 0:,.0f} events/s; loading {messages:,} inbound ..."
                )
                await produce_inbound(broker.bootstrap, inbound_records(messages, "load"))
                first = await _classify_run(
                    broker, Path(tmp), processes, messages, rate, latency_seconds, workers,
                    "at_least_once",
                )  # fmt: skip
                exactly_once = None
                if not broker.embedded:  # the embedded broker has no transactions
                    stop_all(processes)
                    processes.clear()
                    say(f"again with Kafka transactions: loading {messages:,} inbound ...")
                    await produce_inbound(broker.bootstrap, inbound_records(messages, "eos-load"))
                    exactly_once = await _classify_run(
                        broker, Path(tmp), processes, messages, rate, latency_seconds, workers,
                        "exactly_once", after=await end_offsets(broker.bootstrap, WEBHOOK_TOPIC),
                    )  # fmt: skip
                    exactly_once["ratio_to_baseline"] = round(
                        exactly_once["pipeline_events_per_second"] / baseline, 3
                    )
                return {
                    "messages": messages,
                    "workers": workers,
                    "baseline_events_per_second": round(baseline),
                    "raw_two_hops_events_per_second": round(two_hops),
                    "faust_two_hops_events_per_second": round(faust_hops),
                    "faust_one_hop_events_per_second": round(faust_one_hop),
                    "quix_streams_events_per_second": round(quix) if quix else None,
                    **first,
                    "ratio_to_baseline": round(first["pipeline_events_per_second"] / baseline, 3),
                    "exactly_once": exactly_once,
                }
            finally:
                stop_all(processes)


async def _classify_run(
    broker: BenchBroker,
    tmp: Path,
    processes: list[subprocess.Popen[bytes]],
    messages: int,
    rate: int,
    latency_seconds: float,
    workers: int,
    guarantee: str,
    after: dict[int, int] | None = None,
) -> dict:
    """Classify workers with `guarantee` drain the `messages` waiting on `inbound-messages`, then
    take `rate` messages/s; their webhook records follow the offsets `after`."""
    ports = [free_port() for _ in range(workers)]
    for n, port in enumerate(ports):
        processes.append(
            spawn(
                broker, tmp, "worker", port, log_name=f"worker-{guarantee}-{n}",
                OPTOUT_PROCESSING_GUARANTEE=guarantee,
            )
        )  # fmt: skip
    async with aiohttp.ClientSession() as session:
        for port, process in zip(ports, processes, strict=True):
            await wait_ready(session, f"http://127.0.0.1:{port}", process)
    say(f"draining the backlog ({guarantee}) ...")
    throughput = await drain_rate(broker.bootstrap, WEBHOOK_TOPIC, messages, after)
    say(f"pipeline ({guarantee}): {throughput:,.0f} events/s; latency at {rate:,}/s ...")
    prefix = f"latency-{guarantee}"
    latencies = await _latency_at(broker.bootstrap, rate, latency_seconds, prefix)
    return {
        "pipeline_events_per_second": round(throughput),
        **latencies.figures(rate),
        "worker_peak_rss_mb": max(peak_rss_mb(p.pid) for p in processes),
    }


async def _raw_baseline(broker: BenchBroker, messages: int) -> float:
    """Consume `messages` 300-byte records and produce two for each: events per second."""
    return await raw_stages(broker, "bench-raw", messages, [("in", ["out-1", "out-2"])])


async def _raw_two_hops(broker: BenchBroker, messages: int) -> float:
    """The pipeline's shape with no decoding, state or acknowledgement waits: one stage re-keys
    each record to a second topic, another consumes that and produces two records (webhook
    event and seen-mark). The ceiling of a two-hop design on this broker, events per second."""
    stages = [("in", ["by-pair"]), ("by-pair", ["webhook", "seen"])]
    return await raw_stages(broker, "bench-hops", messages, stages)


async def raw_stages(
    broker: BenchBroker, prefix: str, messages: int, stages: list[tuple[str, list[str]]]
) -> float:
    """`messages` 300-byte records through `stages` (input topic, output topics), all stages
    running at once in this process: events per second from the first record consumed."""
    await broker.topics(
        PARTITIONS, {f"{prefix}-{t}" for source, outputs in stages for t in [source, *outputs]}
    )
    bootstrap = broker.bootstrap
    await _produce_raw(bootstrap, f"{prefix}-{stages[0][0]}", messages)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        started: list[float] = []
        stage_runs = [
            _raw_stage(bootstrap, producer, f"{prefix}-{source}",
                       [f"{prefix}-{t}" for t in outputs], messages, started)
            for source, outputs in stages
        ]  # fmt: skip
        await asyncio.gather(*stage_runs)
        await producer.flush()
        return messages / (time.perf_counter() - min(started))
    finally:
        await producer.stop()


async def _raw_stage(
    bootstrap: str,
    producer: AIOKafkaProducer,
    source: str,
    outputs: list[str],
    messages: int,
    started: list[float],
) -> None:
    """Consume `messages` records of `source`, producing each to every topic of `outputs`."""
    consumer = AIOKafkaConsumer(
        source, bootstrap_servers=bootstrap, group_id=source, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        done = 0
        while done < messages:
            batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
            if batches and not started:
                started.append(time.perf_counter())
            for records in batches.values():
                for record in records:
                    for output in outputs:
                        await producer.send(output, record.value, key=record.key)
                done += len(records)
    finally:
        await consumer.stop()


async def faust_no_work_rate(
    broker: BenchBroker,
    tmp: Path,
    messages: int,
    agents: str,
    source: str,
    outputs: tuple[str, ...],
    via: tuple[str, ...] = (),
) -> float:
    """Faust agents doing no work (`agents`), in a worker of their own, from `source` (through
    the topics `via`) to `outputs`: events per second from the first output record to the last."""
    await broker.topics(PARTITIONS, {source, *via, *outputs})
    await _produce_raw(broker.bootstrap, source, messages)
    port = free_port()
    worker = spawn(broker, tmp, "worker", port, log_name=agents, agents=agents)
    try:
        async with aiohttp.ClientSession() as session:
            await wait_ready(session, f"http://127.0.0.1:{port}", worker)
        return await drain_rate(broker.bootstrap, outputs[0], messages)
    finally:
        worker.terminate()
        worker.wait(timeout=30)


async def _quix_streams(broker: BenchBroker, tmp: Path, messages: int) -> float | None:
    """Quix Streams on the same job, stateful with a changelog (streams/bench/quix_peer.py):
    events per second from its first output record to the last; None when not installed."""
    if not quix_peer.available():
        say('Quix Streams row skipped: not installed (pip install -e ".[peers]")')
        return None
    # Quix reads the source topic's retention.ms, which this broker reports only when set.
    topics = {quix_peer.SOURCE_TOPIC, *quix_peer.OUTPUT_TOPICS}
    await broker.topics(PARTITIONS, topics, **{"retention.ms": "86400000"})
    bootstrap = broker.bootstrap
    await _produce_raw(bootstrap, quix_peer.SOURCE_TOPIC, messages)
    command = [sys.executable, "-m", quix_peer.__name__, bootstrap, str(tmp / "quix-state")]
    with (tmp / "quix.log").open("wb") as log:
        peer = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        return await drain_rate(bootstrap, quix_peer.OUTPUT_TOPICS[0], messages)
    finally:
        stop_all([peer])


async def _produce_raw(bootstrap: str, topic: str, messages: int) -> None:
    """`messages` 300-byte records, keyed over 1,000 keys."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for n in range(messages):
            await producer.send(topic, b"x" * 300, key=str(n % 1000).encode())
        await producer.flush()
    finally:
        await producer.stop()


async def _latency_at(bootstrap: str, rate: int, seconds: float, prefix: str) -> Latencies:
    """Offer inbound messages at `rate`/s; each one's latencies from its received_at to its
    webhook record."""
    serde = AvroSerde("inbound_message", INBOUND_TOPIC)
    webhook = AvroSerde("webhook_event", WEBHOOK_TOPIC)
    records = inbound_records(int(rate * seconds), prefix)

    async def offer() -> int:
        await offer_at_rate(bootstrap, INBOUND_TOPIC, records, rate, serde, "received_at")
        return len(records)

    def received_at(value: bytes) -> int | None:
        inbound = webhook.decode(value)["message"]
        return inbound["received_at"] if inbound["message_id"].startswith(f"{prefix}-") else None

    return await latencies_at(bootstrap, WEBHOOK_TOPIC, offer, received_at)
