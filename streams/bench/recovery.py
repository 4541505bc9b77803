"""`optout bench recovery`: how fast a worker rebuilds its block list after losing its disk.

For each size: the block list's changelog is filled with that many entries (written straight to
`blocklist-changelog`, as the classify agent would have), a classify worker starts and builds its
local RocksDB from it, is stopped, its data directory is deleted, and it starts again. Printed:
entries restored per second (Faust's "Restoring state" to "Done reading" log lines), time from
start to ready (`/healthz` 200, including the consumer-group join), and the worker's peak RSS,
whose ratio between the largest and the smallest size shows whether memory stays flat as the
block list grows. Baseline from the same run: a BlocklistReader (plain aiokafka into rocksdict)
copying the same changelog from empty.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaProducer

from optout.schemas import AvroSerde
from optout.streams.bench.harness import (
    BenchBroker,
    bench_broker,
    peak_rss_mb,
    say,
    spawn,
    wait_ready,
)
from optout.streams.bench.traffic import bench_number
from optout.streams.embedded.broker import free_port
from optout.streams.rules.partitioning import end_user_partition
from optout.streams.runtime.table_prefill import PREFILL_DONE, PREFILL_STARTED
from optout.streams.topics import BLOCKLIST_CHANGELOG_TOPIC
from optout.tables.client.blocklist_reader import BlocklistReader
from optout.tables.keys import pair_key

__all__ = ["RESTORE_DONE", "RESTORE_STARTED", "bench_recovery"]

PARTITIONS = 4  # the workers' default (OPTOUT_PARTITIONS)
RESTORE_STARTED = "Restoring state from changelog topics"
RESTORE_DONE = "Done reading from changelog topics"


def bench_recovery(sizes: list[int]) -> dict[str, object]:
    runs = [asyncio.run(_recovery(entries)) for entries in sizes]
    smallest, largest = runs[0], runs[-1]
    rss_ratio = largest["worker_peak_rss_mb"] / smallest["worker_peak_rss_mb"]
    return {"runs": runs, "rss_ratio_largest_to_smallest": round(rss_ratio, 2)}


async def _recovery(entries: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="optout-bench-") as tmp:
        async with bench_broker(PARTITIONS) as broker:
            await _fill_changelog(broker.bootstrap, entries)
            reader_seconds = await _reader_catch_up(broker.bootstrap, Path(tmp) / "reader")
            say("first start: building local state ...")
            await _run_until_ready(broker, Path(tmp))
            shutil.rmtree(Path(tmp) / "worker")
            say("local state deleted; restarting ...")
            restarted = await _run_until_ready(broker, Path(tmp))
            return {"entries": entries, **restarted, "reader_seconds": round(reader_seconds, 2)}


async def _run_until_ready(broker: BenchBroker, tmp: Path) -> dict[str, float]:
    """Start a classify worker with its data in `tmp`/worker (its log: worker.log) and stop it
    once ready."""
    port = free_port()
    started = time.monotonic()
    worker = spawn(broker, tmp, "worker", port, log_level="info")
    try:
        async with aiohttp.ClientSession() as session:
            await wait_ready(session, f"http://127.0.0.1:{port}", worker, timeout=1800)
        ready_after = time.monotonic() - started
        rss = peak_rss_mb(worker.pid)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    restore_seconds = _restore_seconds((tmp / "worker.log").read_text(errors="replace"))
    return {
        "restore_seconds": round(restore_seconds, 2),
        "ready_after_seconds": round(ready_after, 1),
        "worker_peak_rss_mb": rss,
    }


async def _reader_catch_up(bootstrap: str, path: Path) -> float:
    """The baseline: seconds for a BlocklistReader to copy the same changelog from empty."""
    say("baseline: a BlocklistReader copying the changelog ...")
    reader = BlocklistReader(bootstrap, path)
    started = time.monotonic()
    following = asyncio.ensure_future(reader.run())
    try:
        while not reader.caught_up:
            if following.done():
                following.result()
            await asyncio.sleep(0.05)
        return time.monotonic() - started
    finally:
        following.cancel()
        reader.close()


def _restore_seconds(log: str) -> float:
    """From the first "Prefilling" or "Restoring state" line to the last "Prefilled" or
    "Done reading" line in a worker's log."""
    lines = log.splitlines()
    started = [_stamp(line) for line in lines if PREFILL_STARTED in line or RESTORE_STARTED in line]
    done = [_stamp(line) for line in lines if PREFILL_DONE in line or RESTORE_DONE in line]
    if not started or not done:
        raise RuntimeError("the worker's log has no recovery; was its log level info?")
    return (max(done) - min(started)).total_seconds()


def _stamp(line: str) -> datetime:
    return datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f")


async def _fill_changelog(bootstrap: str, entries: int) -> None:
    serde = AvroSerde("blocklist_entry", BLOCKLIST_CHANGELOG_TOPIC)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=262144)
    await producer.start()
    now = int(time.time() * 1000)
    try:
        for n in range(entries):
            number, sender = bench_number(n % 997), bench_number(997 + n)
            entry = {"business_number": number, "end_user_number": sender, "blocked": True,
                     "since": now, "keyword": "STOP", "message_id": f"fill-{n}",
                     "source": "keyword", "confirmed_at": now, "reason": None,
                     "actor": None}  # fmt: skip
            await producer.send(
                BLOCKLIST_CHANGELOG_TOPIC,
                serde.encode(entry),
                key=pair_key(number, sender),
                partition=end_user_partition(sender, PARTITIONS),  # where classify writes it
            )
            if n % 50_000 == 0:
                say(f"  filling the changelog: {n:,}/{entries:,}")
        await producer.flush()
    finally:
        await producer.stop()
