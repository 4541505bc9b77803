"""`optout bench import`: consent records imported per second, against the way in before (one
hand-made block per pair), in one run on one broker.

1. Baseline: `--baseline-pairs` blocks made one by one through `POST /v1/blocklist/{n}/{u}`
   (what `optout blocklist add` calls), eight at a time, until the last is applied.
2. A file of `--lines` lines (opt-outs at one number, one end user in ten opting back in on a
   line of its own) checked with `optout consent import FILE` (the dry run), then applied with
   `--apply`, both through the real command line and HTTP API: the time the command takes, and
   until every change is applied (the last opt-out event on the broker).
3. The same file checked again once applied: every line already so, or outranked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from optout.streams.bench.harness import (
    BenchBroker,
    bench_broker,
    peak_rss_mb,
    say,
    spawn,
    stop_all,
    timestamps,
    wait_ready,
)
from optout.streams.embedded.broker import free_port
from optout.streams.topics import OPTOUT_EVENTS_TOPIC

__all__ = ["bench_import"]

BUSINESS_NUMBER = "+18445550200"
TOKEN = "bench-import-token"
OPTED_BACK_IN_EVERY = 10


def bench_import(
    lines: int, baseline_pairs: int, broker_url: str | None = None, wipe: bool = False
) -> dict[str, object]:
    return asyncio.run(_bench_import(lines, baseline_pairs, broker_url, wipe))


def user(n: int) -> str:
    """The n-th end user: ten million distinct North American numbers."""
    return f"+1{212 + n // 1_000_000:03d}{600 + n // 10_000 % 100:03d}{n % 10_000:04d}"


def write_file(path: Path, lines: int) -> int:
    """`lines` lines; returns how many changes applying them makes (one each)."""
    with path.open("w") as file:
        file.write("number,user,action,at,source\n")
        for n in range(lines):
            if n % OPTED_BACK_IN_EVERY == OPTED_BACK_IN_EVERY - 1:
                file.write(f"{BUSINESS_NUMBER},{user(n - 1)},opt_in,2024-06-01,web\n")
            else:
                file.write(f"{BUSINESS_NUMBER},{user(n)},opt_out,2024-01-01T10:00:00Z,crm\n")
    return lines


async def _bench_import(
    lines: int, baseline_pairs: int, broker_url: str | None, wipe: bool
) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="optout-bench-import-") as tmp:
        async with bench_broker(4, broker_url, wipe) as broker:
            port = free_port()
            worker = spawn(broker, Path(tmp), "worker", port, OPTOUT_ADMIN_TOKENS=f"bench={TOKEN}")
            web_url = f"http://127.0.0.1:{port}"
            try:
                async with aiohttp.ClientSession() as session:
                    await wait_ready(session, web_url, worker)
                    say(f"baseline: {baseline_pairs:,} blocks made one by one ...")
                    baseline = await _one_by_one(session, broker, web_url, baseline_pairs)
                path = Path(tmp) / "consent.csv"
                changes = write_file(path, lines)
                say(f"checking {lines:,} lines (dry run) ...")
                dry_run, _ = await _command(broker, web_url, path, Path(tmp) / "cli-dry.log")
                say(f"applying {lines:,} lines ...")
                started = time.time()
                sent, cli_rss = await _command(broker, web_url, path, Path(tmp) / "cli.log",
                                               "--apply")  # fmt: skip
                applied = await _last_event_at(broker, baseline_pairs + changes) - started
                say("checking the applied file again ...")
                again, _ = await _command(broker, web_url, path, Path(tmp) / "cli-again.log")
                return {
                    "lines": lines,
                    "baseline_pairs": baseline_pairs,
                    "baseline_changes_per_second": round(baseline),
                    "dry_run_seconds": round(dry_run, 2),
                    "dry_run_lines_per_second": round(lines / dry_run),
                    "apply_command_seconds": round(sent, 2),
                    "applied_seconds": round(applied, 2),
                    "applied_lines_per_second": round(lines / applied),
                    "ratio_to_baseline": round(lines / applied / baseline, 1),
                    "again_seconds": round(again, 2),
                    "worker_peak_rss_mb": round(peak_rss_mb(worker.pid)),
                    "command_line_peak_rss_mb": round(cli_rss),
                }
            finally:
                stop_all([worker])


async def _one_by_one(
    session: aiohttp.ClientSession, broker: BenchBroker, web_url: str, pairs: int
) -> float:
    """Blocks made per second through the hand-made change, eight requests at a time (the first
    opt-out events on the broker)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    started = time.time()
    queue = list(range(9_000_000, 9_000_000 + pairs))

    async def make() -> None:
        while queue:
            url = f"{web_url}/v1/blocklist/{BUSINESS_NUMBER}/{user(queue.pop())}"
            async with session.post(url, json={"reason": "bench"}, headers=headers) as answer:
                if answer.status != 202:
                    raise RuntimeError(f"a hand-made block was refused: {await answer.text()}")

    await asyncio.gather(*(make() for _ in range(8)))
    return pairs / (await _last_event_at(broker, pairs) - started)


async def _command(
    broker: BenchBroker, web_url: str, path: Path, log: Path, *more: str
) -> tuple[float, float]:
    """Run `optout consent import` on the file: seconds it took, its peak memory in MB."""
    env = os.environ | {"OPTOUT_WEB_URL": web_url, "OPTOUT_TOKEN": TOKEN,
                        "OPTOUT_BROKER_URL": broker.bootstrap}  # fmt: skip
    command = [sys.executable, "-m", "optout.streams.cli", "consent", "import", str(path),
               "--json", *more]  # fmt: skip
    started = time.monotonic()
    with log.open("w") as errors:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=errors)
        rss = 0.0
        while process.poll() is None:
            with contextlib.suppress(OSError):  # it may end in between
                rss = max(rss, peak_rss_mb(process.pid))
            await asyncio.sleep(0.2)
        output = process.stdout.read() if process.stdout else b""
    took = time.monotonic() - started
    if process.returncode != 0:
        raise RuntimeError(f"optout consent import failed: {log.read_text()[-2000:]}")
    summary = json.loads(output)
    say(f"  {summary['outcomes']}, {took:.1f} s")
    return took, rss


async def _last_event_at(broker: BenchBroker, count: int) -> float:
    """When the `count`-th opt-out event of the run was written (epoch seconds, the broker's
    timestamps), once it is."""
    return max(await timestamps(broker.bootstrap, OPTOUT_EVENTS_TOPIC, count, 900)) / 1000
