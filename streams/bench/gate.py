"""`optout bench gate`: sends gated per second against raw aiokafka, in one run on one broker.

1. Baseline: raw aiokafka consumes `--messages` 300-byte records and produces one record for
   each, as the gate does (a hand-over to the carrier, or a rejection). Next to it, Faust agents
   doing no work in one hop (streams/bench/faust_one_hop.py; two outputs per input): the
   ceiling of any Faust agent on this broker.
2. Throughput: a classify worker (which runs the gate; carrier delivery runs in workers of its
   own, `--agents send`, and is not measured) gates the same number of sends waiting on
   `outbound-messages`; one end user in ten has texted STOP. Sends per second from the gate's
   first hand-over to the carrier to its last (broker timestamps); rejections are made in the
   same batches.
3. Latency at a fixed offered load: sends at `--rate`/s, each timed from its requested_at until
   a consumer reading committed records receives its hand-over on `carrier-sends`.
4. On Kafka, 2 and 3 again with Kafka transactions (OPTOUT_PROCESSING_GUARANTEE=exactly_once): a
   fresh worker, fresh sends; hand-overs counted as a consumer reading committed sees them.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from optout.schemas import AvroSerde, Record
from optout.streams.bench.harness import (
    BenchBroker,
    Latencies,
    bench_broker,
    drain_rate,
    end_offsets,
    latencies_at,
    offer_at_rate,
    produce_inbound,
    produce_stamped,
    say,
    spawn,
    stop_all,
    wait_ready,
)
from optout.streams.bench.pipeline import PARTITIONS, faust_no_work_rate, raw_stages
from optout.streams.embedded.broker import free_port
from optout.streams.rules.number_settings import (
    default_brand,
    default_settings,
    updated_brand,
    updated_settings,
)
from optout.streams.topics import (
    BENCH_ONE_HOP_OUTPUT_TOPICS,
    BENCH_ONE_HOP_TOPIC,
    BRAND_SETTINGS_TOPIC,
    CARRIER_SENDS_TOPIC,
    OPTOUT_EVENTS_TOPIC,
    OUTBOUND_TOPIC,
    SETTINGS_TOPIC,
)

__all__ = ["BUSINESS_NUMBER", "END_USERS", "bench_gate", "blocked", "sends"]

BUSINESS_NUMBER = "+18445550100"
END_USERS = 5000
BLOCKED_EVERY = 10  # one end user in ten has opted out


def bench_gate(
    messages: int,
    rate: int,
    latency_seconds: float,
    broker_url: str | None = None,
    wipe: bool = False,
    kind_aware: bool = False,
) -> dict[str, object]:
    return asyncio.run(_bench_gate(messages, rate, latency_seconds, broker_url, wipe, kind_aware))


def sends(count: int, prefix: str, users: int = END_USERS) -> list[tuple[bytes, Record]]:
    """`count` sends from one business number to `users` end users, keyed by the end user."""
    records = []
    for n in range(count):
        user = f"+1415{n % users:07d}"
        send = {
            "message_id": f"{prefix}-{n}", "channel": "SMS", "from_number": BUSINESS_NUMBER,
            "to_number": user, "text": f"Your order {n} has shipped. Reply STOP to opt out.",
            "media_urls": [], "reference": f"order-{n}", "category": "transactional",
            "requested_at": 0,
        }  # fmt: skip
        records.append((user.encode(), send))
    return records


def blocked(count: int, users: int) -> int:
    """How many of `sends(count, _, users)` go to end users who opted out."""
    return sum(1 for n in range(count) if (n % users) % BLOCKED_EVERY == 0)


async def _bench_gate(
    messages: int,
    rate: int,
    latency_seconds: float,
    broker_url: str | None,
    wipe: bool,
    kind_aware: bool,
) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="optout-bench-gate-") as tmp:
        async with bench_broker(PARTITIONS, broker_url, wipe) as broker:
            processes: list[subprocess.Popen[bytes] | None] = []
            try:
                baseline = await raw_stages(broker, "bench-gate", messages,
                                            [("in", ["out"])])  # fmt: skip
                faust_ceiling = await faust_no_work_rate(
                    broker, Path(tmp), messages, "bench-one-hop",
                    BENCH_ONE_HOP_TOPIC, BENCH_ONE_HOP_OUTPUT_TOPICS,
                )  # fmt: skip
                say(
                    f"baseline: {baseline:,.0f} events/s, Faust doing no work "
                    f"{faust_ceiling:,.0f} events/s; blocking one end user in ten ..."
                )
                users = min(END_USERS, messages)
                if kind_aware:
                    await _kind_aware_brand(broker.bootstrap)
                processes.append(await _worker(broker, Path(tmp), "at_least_once"))
                await _block_every_tenth_user(broker.bootstrap, users)
                stop_all(processes)
                first = await _gate_run(
                    broker, Path(tmp), processes, messages, rate, latency_seconds, users,
                    "at_least_once",
                )  # fmt: skip
                exactly_once = None
                if not broker.embedded:  # the embedded broker has no transactions
                    stop_all(processes)
                    exactly_once = await _gate_run(
                        broker, Path(tmp), processes, messages, rate, latency_seconds, users,
                        "exactly_once",
                    )  # fmt: skip
                    exactly_once["ratio_to_baseline"] = round(
                        exactly_once["gate_sends_per_second"] / baseline, 3
                    )
                return {
                    "messages": messages,
                    "blocked_share": 1 / BLOCKED_EVERY,
                    "kind_aware": kind_aware,
                    "baseline_events_per_second": round(baseline),
                    "faust_one_hop_events_per_second": round(faust_ceiling),
                    **first,
                    "ratio_to_baseline": round(first["gate_sends_per_second"] / baseline, 3),
                    "exactly_once": exactly_once,
                }
            finally:
                stop_all(processes)


async def _gate_run(
    broker: BenchBroker,
    tmp: Path,
    processes: list[subprocess.Popen[bytes] | None],
    messages: int,
    rate: int,
    latency_seconds: float,
    users: int,
    guarantee: str,
) -> dict:
    """A worker with `guarantee` gates `messages` sends loaded before it starts, then takes
    `rate` sends/s."""
    say(f"loading {messages:,} sends ...")
    load = sends(messages, f"load-{guarantee}", users)
    after = await end_offsets(broker.bootstrap, CARRIER_SENDS_TOPIC)
    await produce_stamped(broker.bootstrap, OUTBOUND_TOPIC, "outbound_message", load,
                          "requested_at")  # fmt: skip
    processes.append(await _worker(broker, tmp, guarantee))
    say(f"gating the backlog ({guarantee}) ...")
    allowed = messages - blocked(messages, users)
    gated = await drain_rate(broker.bootstrap, CARRIER_SENDS_TOPIC, allowed, after)
    gated *= messages / allowed  # rejections come in the same batches
    say(f"gate ({guarantee}): {gated:,.0f} sends/s; latency at {rate:,}/s ...")
    prefix = f"latency-{guarantee}"
    latencies = await _latency_at(broker.bootstrap, rate, latency_seconds, users, prefix)
    return {
        "gate_sends_per_second": round(gated),
        **latencies.figures(rate),
    }


async def _worker(broker: BenchBroker, tmp: Path, guarantee: str) -> subprocess.Popen[bytes]:
    port = free_port()
    worker = spawn(broker, tmp, "worker", port, log_name=f"worker-{guarantee}",
                   OPTOUT_PROCESSING_GUARANTEE=guarantee)  # fmt: skip
    async with aiohttp.ClientSession() as session:
        await wait_ready(session, f"http://127.0.0.1:{port}", worker)
    return worker


async def _kind_aware_brand(bootstrap: str) -> None:
    """The business number in a kind-aware brand: the gate remembers each send it hands over
    (tables/last_sends.py), for what a STOP answers."""
    now = int(time.time() * 1000)
    brand, _, problems = updated_brand(default_brand("bench"), {"kind_aware": True}, [], now)
    defaults = default_settings(BUSINESS_NUMBER, "Bench", "help@bench.test")
    number, more = updated_settings(None, {"brand_id": "bench"}, defaults, {}, now)
    assert not problems and not more, problems + more
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        brand_serde = AvroSerde("brand_settings", BRAND_SETTINGS_TOPIC)
        number_serde = AvroSerde("number_settings", SETTINGS_TOPIC)
        await producer.send_and_wait(BRAND_SETTINGS_TOPIC, brand_serde.encode(brand), key=b"bench")
        await producer.send_and_wait(
            SETTINGS_TOPIC, number_serde.encode(number), key=BUSINESS_NUMBER.encode()
        )
    finally:
        await producer.stop()


async def _block_every_tenth_user(bootstrap: str, users: int) -> None:
    stops = [
        (user.encode(), {
            "message_id": f"stop-{n}", "channel": "SMS", "from_number": user,
            "to_number": BUSINESS_NUMBER, "text": "STOP", "media_urls": [],
            "received_at": int(time.time() * 1000), "carrier": "bench",
        })
        for n in range(0, users, BLOCKED_EVERY)
        for user in [f"+1415{n:07d}"]
    ]  # fmt: skip
    await produce_inbound(bootstrap, stops)
    consumer = AIOKafkaConsumer(
        OPTOUT_EVENTS_TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        events, deadline = 0, time.monotonic() + 300
        while events < len(stops):
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {events:,} of {len(stops):,} opt-outs applied")
            batches = await consumer.getmany(timeout_ms=500)
            events += sum(len(records) for records in batches.values())
    finally:
        await consumer.stop()


async def _latency_at(
    bootstrap: str, rate: int, seconds: float, users: int, prefix: str
) -> Latencies:
    """Offer sends at `rate`/s, with ids `prefix-n`; each one's latencies from its requested_at
    to its hand-over to the carrier."""
    serde = AvroSerde("outbound_message", OUTBOUND_TOPIC)
    records = sends(int(rate * seconds), prefix, users)

    async def offer() -> int:
        await offer_at_rate(bootstrap, OUTBOUND_TOPIC, records, rate, serde, "requested_at")
        return len(records) - blocked(len(records), users)

    def requested_at(value: bytes) -> int | None:
        handed = serde.decode(value)
        return handed["requested_at"] if handed["message_id"].startswith(f"{prefix}-") else None

    return await latencies_at(bootstrap, CARRIER_SENDS_TOPIC, offer, requested_at)
