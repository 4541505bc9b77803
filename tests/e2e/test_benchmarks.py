"""The benchmarks run end to end at a small size and compute every figure they print (a broken
benchmark is otherwise found only when someone needs its numbers). They start together, each
with its own embedded broker and workers, and each test checks its own: the figures are not
judged here, only computed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support import on_embedded_broker_only

pytestmark = [pytest.mark.e2e, on_embedded_broker_only]

RUNS = {
    "recovery": ("--entries", "300"),
    "pipeline": ("--messages", "300", "--rate", "50", "--latency-seconds", "1"),
    "classify": ("--messages", "2000"),
    "blocklist": ("--pairs", "200", "--seconds", "0.5", "--rate", "100"),
    "state": ("--messages", "300,1200", "--retention-seconds", "60"),
    "gate": ("--messages", "500", "--rate", "100", "--latency-seconds", "1", "--kind-aware"),
}


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, subprocess.Popen[str]]]:
    started = {
        name: subprocess.Popen(
            [sys.executable, "-m", "optout.streams.cli", "bench", name, *args, "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name, args in RUNS.items()
    }  # fmt: skip
    yield started
    for process in started.values():
        if process.poll() is None:
            process.kill()
            process.communicate()


def bench(runs: dict[str, subprocess.Popen[str]], name: str) -> dict:
    out, err = runs[name].communicate(timeout=900)
    assert runs[name].returncode == 0, err[-3000:]
    return json.loads(out)


def test_bench_recovery_restores_and_measures(runs: dict[str, subprocess.Popen[str]]) -> None:
    figures = bench(runs, "recovery")
    assert [run["entries"] for run in figures["runs"]] == [300]
    for run in figures["runs"]:
        assert run["restore_seconds"] > 0 and run["reader_seconds"] > 0
        assert run["ready_after_seconds"] > 0 and run["worker_peak_rss_mb"] > 0
    assert figures["rss_ratio_largest_to_smallest"] > 0


def test_bench_pipeline_drains_the_backlog_and_measures_latency(
    runs: dict[str, subprocess.Popen[str]],
) -> None:
    figures = bench(runs, "pipeline")
    assert figures["faust_one_hop_events_per_second"] > 0
    assert figures["pipeline_events_per_second"] > 0 and figures["baseline_events_per_second"] > 0
    assert figures["raw_two_hops_events_per_second"] > 0
    assert figures["faust_two_hops_events_per_second"] > 0
    # 300 messages time start-up more than throughput: the ratio can be anything, but computed.
    ratio = figures["pipeline_events_per_second"] / figures["baseline_events_per_second"]
    assert figures["ratio_to_baseline"] == pytest.approx(ratio, rel=0.01)
    for latency in (figures["latency_at_rate"], figures["received_latency_at_rate"]):
        assert 0 < latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]


def test_bench_classify_measures_against_its_baseline(
    runs: dict[str, subprocess.Popen[str]],
) -> None:
    figures = bench(runs, "classify")
    rate, baseline = (
        figures["classifications_per_second"],
        figures["baseline_upper_split_per_second"],
    )
    assert rate > 0 and baseline > 0
    assert figures["ratio_to_baseline"] == pytest.approx(rate / baseline, abs=0.001)
    assert sum(figures["intents"].values()) == 2000


def test_bench_blocklist_measures_every_way_of_asking(
    runs: dict[str, subprocess.Popen[str]],
) -> None:
    figures = bench(runs, "blocklist")
    assert figures["pairs"] == 200
    for name in ("http_healthz_baseline", "http_single", "replica_single"):
        assert figures[name]["requests_per_second"] > 0, name
    for name in ("http_fixed_rate", "replica_fixed_rate", "floor_fixed_rate"):
        assert 0 < figures[name]["p50_ms"] <= figures[name]["p99_ms"], name
    assert figures["reader_lookups_per_second"] > 0 and figures["dict_baseline_per_second"] > 0


def test_bench_state_measures_what_a_worker_would_restore(
    runs: dict[str, subprocess.Popen[str]],
) -> None:
    figures = bench(runs, "state")
    small, large = figures["runs"]
    assert [small["messages"], large["messages"]] == [300, 1200]
    for run in (small, large):
        # Within the retention nothing is pruned: one live mark per message with effects.
        assert 0 < run["live_seen_marks"] == run["changelog_records"] < run["messages"]
        assert 0 < run["seen_table_mb"] <= run["data_dir_mb"] and run["events_per_second"] > 0
    ratio = large["live_seen_marks"] / small["live_seen_marks"]
    assert figures["live_marks_largest_to_smallest"] == pytest.approx(ratio, abs=0.01)


def test_bench_gate_gates_the_backlog_and_measures_latency(
    runs: dict[str, subprocess.Popen[str]],
) -> None:
    figures = bench(runs, "gate")
    assert figures["gate_sends_per_second"] > 0 and figures["baseline_events_per_second"] > 0
    assert figures["faust_one_hop_events_per_second"] > 0
    ratio = figures["gate_sends_per_second"] / figures["baseline_events_per_second"]
    assert figures["ratio_to_baseline"] == pytest.approx(ratio, rel=0.01)
    for latency in (figures["latency_at_rate"], figures["received_latency_at_rate"]):
        assert 0 < latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]
    assert figures["exactly_once"] is None  # the embedded broker has no transactions
    assert figures["kind_aware"]  # what the gate remembers is tested in tests/e2e/test_kinds.py
