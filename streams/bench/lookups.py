"""`optout bench blocklist`: block-list lookups on a real worker (HTTP single, at a fixed rate,
batch), from a lookup replica, and in process from a BlocklistReader. Baselines in the same run:
/healthz on the same server, a server answering a constant, and a Python dict."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaProducer

from optout.schemas import AvroSerde
from optout.streams.bench.harness import (
    bench_broker,
    percentiles,
    say,
    spawn,
    stop_all,
    wait_for,
    wait_ready,
)
from optout.streams.bench.load_generator import fixed_rate_gets, serve_constant_answer
from optout.streams.bench.traffic import bench_number
from optout.streams.embedded.broker import free_port
from optout.streams.topics import BLOCKLIST_COMMANDS_TOPIC
from optout.tables.client.blocklist_reader import BlocklistReader
from optout.tables.keys import end_user_key

__all__ = ["bench_blocklist"]


def bench_blocklist(pairs: int, seconds: float, rate: int) -> dict[str, object]:
    """Block-list lookups on a real worker: HTTP single and batch, and the in-process reader."""
    return asyncio.run(_bench_blocklist(pairs, seconds, rate))


async def _bench_blocklist(pairs: int, seconds: float, rate: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="optout-bench-") as tmp:
        async with bench_broker() as broker, aiohttp.ClientSession() as session:
            web_port, replica_port = free_port(), free_port()
            web_url = f"http://127.0.0.1:{web_port}"
            replica_url = f"http://127.0.0.1:{replica_port}"
            worker = spawn(broker, Path(tmp), "worker", web_port)
            replica = None
            try:
                await wait_ready(session, web_url, worker)
                keys = await _fill(broker.bootstrap, pairs)
                replica = spawn(broker, Path(tmp), "lookups", replica_port)
                await wait_ready(session, replica_url, replica)
                reader = BlocklistReader(broker.bootstrap, Path(tmp) / "reader")
                following = asyncio.ensure_future(reader.run())
                await wait_for(lambda: reader.caught_up and sum(reader.lag().values()) == 0)
                await wait_for(lambda: all(reader.is_blocked(*k) for k in keys[-10:]))
                paths = _lookup_paths(keys)
                figures = {
                    "pairs": pairs,
                    "http_healthz_baseline": await _closed_loop(
                        session, web_url, "/healthz", seconds
                    ),
                    "http_single": await _closed_loop(session, web_url, paths, seconds),
                    "http_fixed_rate": await _open_loop(web_port, paths, rate, seconds),
                    "http_healthz_fixed_rate": await _open_loop(
                        web_port, ["/healthz"], rate, seconds
                    ),
                    "http_batch_pairs_per_second": await _batch_rate(
                        session, web_url, keys, seconds
                    ),
                    "floor_fixed_rate": await _floor(paths, rate, seconds),
                    "replica_single": await _closed_loop(session, replica_url, paths, seconds),
                    "replica_fixed_rate": await _open_loop(replica_port, paths, rate, seconds),
                    **_reader_rates(reader, keys),
                }
                following.cancel()
                reader.close()
                return figures
            finally:
                stop_all([replica, worker])


async def _fill(bootstrap: str, pairs: int) -> list[tuple[str, str]]:
    """Block `pairs` pairs through the manage agent, as hand-made opt-outs."""
    say(f"blocking {pairs:,} pairs ...")
    serde = AvroSerde("blocklist_command", BLOCKLIST_COMMANDS_TOPIC)
    keys = [(bench_number(n % 97), bench_number(97 + n)) for n in range(pairs)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for n, (number, sender) in enumerate(keys):
            command = {"command_id": f"bench-{n}", "action": "OPT_OUT", "business_number": number,
                       "end_user_number": sender, "reason": "benchmark", "actor": "bench",
                       "requested_at": int(time.time() * 1000)}  # fmt: skip
            await producer.send(
                BLOCKLIST_COMMANDS_TOPIC, serde.encode(command), key=end_user_key(sender)
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
    return {"requests_per_second": round(len(latencies) / seconds), **percentiles(latencies)}


async def _open_loop(web_port: int, paths: list[str], rate: int, seconds: float) -> dict:
    """Requests at a fixed offered rate from a load generator in its own process."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        latencies = await asyncio.get_running_loop().run_in_executor(
            pool, fixed_rate_gets, "127.0.0.1", web_port, paths, rate, seconds
        )
    return {"offered_per_second": rate, **percentiles(latencies)}


async def _floor(paths: list[str], rate: int, seconds: float) -> dict:
    """The same load against a server that only answers a constant (see serve_constant_answer)."""
    port = free_port()
    server = multiprocessing.get_context("spawn").Process(
        target=serve_constant_answer, args=(port,), daemon=True
    )
    server.start()
    try:
        async with aiohttp.ClientSession() as session:
            await wait_ready(session, f"http://127.0.0.1:{port}", server)
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
