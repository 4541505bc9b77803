"""`optout bench state`: dedupe state stays bounded however many messages pass.

For each size: a fresh broker and classify worker (dedupe retention `--retention-seconds`,
pruning every second), that many realistic inbound messages at full speed, drained; then the
seen-marks alive on `seen-messages-changelog` (the table's state: what a restarting worker
restores), the changelog's records (tombstones included: the embedded broker does not compact),
the seen-messages table's RocksDB files, and the worker's whole data directory (the block list
and its history grow with the pairs that opted out: that is state to keep). Before ids were
pruned, the live marks grew with every message ever handled (one per message).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaConsumer

from optout.streams.bench.harness import (
    bench_broker,
    drain_rate,
    produce_inbound,
    say,
    spawn,
    stop_all,
    wait_ready,
)
from optout.streams.bench.traffic import inbound_records
from optout.streams.embedded.broker import free_port
from optout.streams.topics import SEEN_MESSAGES_CHANGELOG_TOPIC, WEBHOOK_TOPIC

__all__ = ["bench_state"]


def bench_state(sizes: list[int], retention_s: float) -> dict[str, object]:
    runs = [asyncio.run(_state_after(messages, retention_s)) for messages in sizes]
    smallest, largest = runs[0], runs[-1]
    return {
        "retention_seconds": retention_s,
        "runs": runs,
        "live_marks_largest_to_smallest": round(
            largest["live_seen_marks"] / max(smallest["live_seen_marks"], 1), 2
        ),
    }


async def _state_after(messages: int, retention_s: float) -> dict[str, int | float]:
    with tempfile.TemporaryDirectory(prefix="optout-bench-") as tmp:
        async with bench_broker() as broker, aiohttp.ClientSession() as session:
            port = free_port()
            worker = spawn(
                broker, Path(tmp), "worker", port,
                OPTOUT_DEDUPE_RETENTION_HOURS=str(retention_s / 3600),
                OPTOUT_PRUNE_INTERVAL_SECONDS="1",
            )  # fmt: skip
            try:
                await wait_ready(session, f"http://127.0.0.1:{port}", worker)
                say(f"{messages:,} messages ...")
                await produce_inbound(broker.bootstrap, inbound_records(messages, "state"))
                rate = await drain_rate(broker.bootstrap, WEBHOOK_TOPIC, messages)
                live, records = await _changelog_state(broker.bootstrap)
                return {
                    "messages": messages,
                    "events_per_second": round(rate),
                    "live_seen_marks": live,
                    "changelog_records": records,
                    "seen_table_mb": round(_size_mb(Path(tmp) / "worker", "seen-messages-*"), 1),
                    "data_dir_mb": round(_size_mb(Path(tmp) / "worker"), 1),
                }
            finally:
                stop_all([worker])


async def _changelog_state(bootstrap: str) -> tuple[int, int]:
    """Live keys of the seen-marks changelog (a key's last record is not a tombstone), and how
    many records it holds."""
    consumer = AIOKafkaConsumer(
        SEEN_MESSAGES_CHANGELOG_TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        last: dict[bytes, bool] = {}
        records = 0
        while batches := await consumer.getmany(timeout_ms=2000, max_records=50_000):
            for batch in batches.values():
                records += len(batch)
                last |= {record.key: record.value is not None for record in batch}
        return sum(last.values()), records
    finally:
        await consumer.stop()


def _size_mb(folder: Path, pattern: str = "*") -> float:
    """Megabytes on disk under the folders (or files) of `folder` matching `pattern`."""
    matched = list(folder.rglob(pattern))
    files = {f for m in matched for f in ([m] if m.is_file() else m.rglob("*")) if f.is_file()}
    return sum(f.stat().st_size for f in files) / 1024**2
