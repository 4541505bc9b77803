"""Benchmarks that print figures and ratios against a baseline measured in the same run."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaProducer

from optout.schemas import AvroSerde
from optout.streams.bench.load_generator import fixed_rate_gets, serve_constant_answer
from optout.streams.bench.traffic import inbound_texts
from optout.streams.embedded.broker import EmbeddedBroker, ensure_topics, free_port
from optout.streams.rules.keywords import classify_text
from optout.streams.topics import BLOCKLIST_COMMANDS_TOPIC
from optout.tables.client.blocklist_reader import BlocklistReader
from optout.tables.keys import pair_key

CLASSIFY_TARGET_PER_SECOND = 200_000


def _rate(work: Callable[[str], object], texts: list[str], rounds: int) -> float:
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for text in texts:
            work(text)
        best = max(best, len(texts) / (time.perf_counter() - started))
    return best


def bench_classify(messages: int, rounds: int = 3) -> dict[str, object]:
    """Classifications per second on one core, against the cheapest pass over the same texts."""
    texts = inbound_texts(messages)
    classify_text(texts[0])  # warm caches
    baseline = _rate(lambda t: t.upper().split(), texts, rounds)
    rate = _rate(classify_text, texts, rounds)
    intents = Counter(classify_text(t).intent.value for t in texts)
    return {
        "messages": messages,
        "classifications_per_second": round(rate),
        "baseline_upper_split_per_second": round(baseline),
        "ratio_to_baseline": round(rate / baseline, 3),
        "target_per_second": CLASSIFY_TARGET_PER_SECOND,
        "meets_target": rate >= CLASSIFY_TARGET_PER_SECOND,
        "intents": dict(intents),
    }


def bench_blocklist(pairs: int, seconds: float, rate: int) -> dict[str, object]:
    """Block-list lookups on a real worker: HTTP single and batch, and the in-process reader."""
    return asyncio.run(_bench_blocklist(pairs, seconds, rate))


async def _bench_blocklist(pairs: int, seconds: float, rate: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="optout-bench-") as tmp:
        broker = EmbeddedBroker(free_port())
        broker.start()
        web_port, replica_port = free_port(), free_port()
        worker = replica = None
        try:
            await ensure_topics(broker.bootstrap, 4, 1)
            worker = _spawn(broker.bootstrap, Path(tmp), "worker", web_port)
            web_url = f"http://127.0.0.1:{web_port}"
            replica_url = f"http://127.0.0.1:{replica_port}"
            async with aiohttp.ClientSession() as session:
                await _wait_ready(session, web_url, worker)
                keys = await _fill(broker.bootstrap, pairs)
                replica = _spawn(broker.bootstrap, Path(tmp), "lookups", replica_port)
                await _wait_ready(session, replica_url, replica)
                reader = BlocklistReader(broker.bootstrap, Path(tmp) / "reader")
                following = asyncio.ensure_future(reader.run())
                await _wait_for(lambda: reader.caught_up and sum(reader.lag().values()) == 0)
                await _wait_for(lambda: all(reader.is_blocked(*k) for k in keys[-10:]))
                figures = {
                    "pairs": pairs,
                    "http_healthz_baseline": await _closed_loop(
                        session, web_url, "/healthz", seconds
                    ),
                    "http_single": await _closed_loop(
                        session, web_url, _lookup_paths(keys), seconds
                    ),
                    "http_fixed_rate": await _open_loop(
                        web_port, _lookup_paths(keys), rate, seconds
                    ),
                    "http_healthz_fixed_rate": await _open_loop(
                        web_port, ["/healthz"], rate, seconds
                    ),
                    "http_batch_pairs_per_second": await _batch_rate(
                        session, web_url, keys, seconds
                    ),
                    "floor_fixed_rate": await _floor(_lookup_paths(keys), rate, seconds),
                    "replica_single": await _closed_loop(
                        session, replica_url, _lookup_paths(keys), seconds
                    ),
                    "replica_fixed_rate": await _open_loop(
                        replica_port, _lookup_paths(keys), rate, seconds
                    ),
                    **_reader_rates(reader, keys),
                }
                following.cancel()
                reader.close()
                return figures
        finally:
            for process in (replica, worker):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=30)
            broker.stop()


def _spawn(
    bootstrap: str,
    tmp: Path,
    role: str,
    port: int,
    log_level: str = "warning",
    log_name: str | None = None,
    agents: str = "classify",
) -> subprocess.Popen[bytes]:
    """A worker running `agents` (role "worker") or a lookup replica (role "lookups") on
    `port`, with its data in `tmp`/`log_name` and its log in `tmp`/`log_name`.log."""
    env = os.environ | {
        "OPTOUT_BROKER_URL": bootstrap,
        "OPTOUT_EMBEDDED_BROKER": "true",
        "OPTOUT_DATA_DIR": str(tmp / (log_name or role)),
        "OPTOUT_WEB_PORT": str(port),
        "OPTOUT_LOOKUP_PORT": str(port),
        "OPTOUT_LOG_LEVEL": log_level,
    }
    command = [sys.executable, "-m", "optout.streams.cli", role]
    if role == "worker":
        command += ["--agents", agents]
    with (tmp / f"{log_name or role}.log").open("wb") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


async def _wait_ready(
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


async def _wait_for(condition: Callable[[], bool], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the block list did not fill in time")
        await asyncio.sleep(0.2)


async def _fill(bootstrap: str, pairs: int) -> list[tuple[str, str]]:
    """Block `pairs` pairs through the manage agent, as hand-made opt-outs."""
    print(f"blocking {pairs:,} pairs ...", file=sys.stderr)
    serde = AvroSerde("blocklist_command", BLOCKLIST_COMMANDS_TOPIC)
    keys = [(f"+1555{n % 97:07d}", f"+1666{n:07d}") for n in range(pairs)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for n, (number, sender) in enumerate(keys):
            command = {"command_id": f"bench-{n}", "action": "OPT_OUT", "business_number": number,
                       "end_user_number": sender, "reason": "benchmark", "actor": "bench",
                       "requested_at": int(time.time() * 1000)}  # fmt: skip
            await producer.send(
                BLOCKLIST_COMMANDS_TOPIC, serde.encode(command), key=pair_key(number, sender)
            )
        await producer.flush()
    finally:
        await producer.stop()
    return keys


def _lookup_paths(keys: list[tuple[str, str]]) -> list[str]:
    rng = random.Random(3)
    return [f"/v1/blocklist/{n}/{s}".replace("+", "%2B") for n, s in rng.choices(keys, k=5000)]


async def _closed_loop(
    session: aiohttp.ClientSession,
    web_url: str,
    paths: str | list[str],
    seconds: float,
    clients: int = 8,
) -> dict[str, float]:
    """As many requests as `clients` concurrent callers manage: requests/s and latency."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def caller(offset: int) -> None:
        n = offset
        while time.monotonic() < deadline:
            path = paths if isinstance(paths, str) else paths[n % len(paths)]
            started = time.perf_counter()
            async with session.get(web_url + path) as response:
                await response.read()
            latencies.append(time.perf_counter() - started)
            n += clients

    await asyncio.gather(*(caller(i) for i in range(clients)))
    return {"requests_per_second": round(len(latencies) / seconds), **_percentiles(latencies)}


async def _open_loop(web_port: int, paths: list[str], rate: int, seconds: float) -> dict:
    """Requests at a fixed offered rate from a load generator in its own process."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        latencies = await asyncio.get_running_loop().run_in_executor(
            pool, fixed_rate_gets, "127.0.0.1", web_port, paths, rate, seconds
        )
    return {"offered_per_second": rate, **_percentiles(latencies)}


async def _floor(paths: list[str], rate: int, seconds: float) -> dict:
    """The same load against a server that only answers a constant (see serve_constant_answer)."""
    port = free_port()
    server = multiprocessing.get_context("spawn").Process(
        target=serve_constant_answer, args=(port,), daemon=True
    )
    server.start()
    try:
        async with aiohttp.ClientSession() as session:
            await _wait_ready(session, f"http://127.0.0.1:{port}", server)
        return await _open_loop(port, paths, rate, seconds)
    finally:
        server.terminate()
        server.join(10)


async def _batch_rate(
    session: aiohttp.ClientSession, web_url: str, keys: list[tuple[str, str]], seconds: float
) -> int:
    body = {
        "pairs": [{"number": n, "sender": s} for n, s in random.Random(5).choices(keys, k=1000)]
    }
    answered, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        async with session.post(f"{web_url}/v1/blocklist/check", json=body) as response:
            answered += len((await response.json())["results"])
    return round(answered / seconds)


def _reader_rates(reader: BlocklistReader, keys: list[tuple[str, str]]) -> dict[str, int]:
    """In-process lookups per second, against a dict of the same pairs as the baseline."""
    sample = random.Random(9).choices(keys, k=200_000)
    as_dict = {f"{n}|{s}": True for n, s in keys}
    started = time.perf_counter()
    for number, sender in sample:
        as_dict.get(f"{number}|{sender}")
    dict_rate = len(sample) / (time.perf_counter() - started)
    started = time.perf_counter()
    for number, sender in sample:
        reader.is_blocked(number, sender)
    reader_rate = len(sample) / (time.perf_counter() - started)
    return {
        "reader_lookups_per_second": round(reader_rate),
        "dict_baseline_per_second": round(dict_rate),
    }


def _percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies) or [0.0]
    at = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)  # noqa: E731
    return {"p50_ms": at(0.50), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * 1000, 2)}
