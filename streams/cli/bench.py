"""`optout bench ...`: run a benchmark and print its figures as a table or JSON."""

from __future__ import annotations

import argparse
import sys

from optout.streams.cli.common import (
    report,
)

__all__ = ["add_commands"]


def add_commands(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser("bench", help="benchmarks")
    bench_commands = bench.add_subparsers(required=True, metavar="BENCHMARK")
    bench_classify = bench_commands.add_parser(
        "classify",
        help="classifications per second of the classifier alone, on a realistic mix",
    )
    bench_classify.add_argument("--messages", type=int, default=200_000)
    bench_classify.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench_classify.set_defaults(run=_bench_classify)
    bench_blocklist = bench_commands.add_parser(
        "blocklist",
        help="block-list lookups: HTTP single (rate and p99 at a fixed load), batch, reader",
        description="Starts an embedded broker and a classify worker, blocks --pairs pairs, "
        "then measures. Baselines in the same run: /healthz on the same server for HTTP, a "
        "Python dict for the reader.",
    )
    bench_blocklist.add_argument("--pairs", type=int, default=10_000)
    bench_blocklist.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    bench_blocklist.add_argument("--rate", type=int, default=1000, help="fixed load, requests/s")
    bench_blocklist.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench_blocklist.set_defaults(run=_bench_blocklist)
    bench_pipeline = bench_commands.add_parser(
        "pipeline",
        help="the classify path against raw aiokafka on the same broker, latency, memory",
        description="Starts an embedded broker (or uses the Kafka cluster of --broker-url); "
        "measures raw aiokafka consume-and-produce-twice "
        "(baseline), the pipeline's two hops in raw aiokafka and as Faust agents doing no work "
        "(a worker running `--agents bench-hops`), the classify worker draining "
        "--messages realistic messages, end-to-end latency at --rate messages/s, and the "
        "worker's peak memory; on Kafka the classify rows again with Kafka transactions "
        "(OPTOUT_PROCESSING_GUARANTEE=exactly_once), side by side.",
    )
    bench_pipeline.add_argument("--messages", type=int, default=20_000)
    bench_pipeline.add_argument("--rate", type=int, default=1000, help="offered load, msgs/s")
    bench_pipeline.add_argument("--latency-seconds", type=float, default=10.0)
    bench_pipeline.add_argument(
        "--workers", type=int, default=1, help="classify workers sharing the partitions"
    )
    bench_pipeline.add_argument("--json", action="store_true", help="print the figures as JSON")
    _broker_arguments(bench_pipeline)
    bench_pipeline.set_defaults(run=_bench_pipeline)
    bench_gate = bench_commands.add_parser(
        "gate",
        help="the send gate against raw aiokafka, and its latency",
        description="Starts an embedded broker (or uses the Kafka cluster of --broker-url); "
        "measures raw aiokafka consume-and-produce "
        "(baseline), then a classify worker gating --messages sends (one end user in ten has "
        "opted out), and the gate's latency at --rate sends/s (requested to handed to the "
        "carrier delivery); on Kafka the gate rows again with Kafka transactions "
        "(OPTOUT_PROCESSING_GUARANTEE=exactly_once), side by side.",
    )
    bench_gate.add_argument("--messages", type=int, default=20_000)
    bench_gate.add_argument("--rate", type=int, default=1000, help="offered load, sends/s")
    bench_gate.add_argument("--latency-seconds", type=float, default=10.0)
    bench_gate.add_argument(
        "--kind-aware",
        action="store_true",
        help="send from a kind-aware brand's number: the gate also remembers each send it hands "
        "over (what a STOP answers)",
    )
    bench_gate.add_argument("--json", action="store_true", help="print the figures as JSON")
    _broker_arguments(bench_gate)
    bench_gate.set_defaults(run=_bench_gate)
    bench_import = bench_commands.add_parser(
        "import",
        help="consent records imported per second, against blocks made one by one",
        description="Starts an embedded broker (or uses the Kafka cluster of --broker-url) and "
        "a worker; makes --baseline-pairs blocks one by one through the HTTP API (the way in "
        "before), then checks and applies a file of --lines lines with `optout consent import` "
        "(the dry run, then --apply, until every change is applied), then checks it again.",
    )
    bench_import.add_argument("--lines", type=int, default=500_000)
    bench_import.add_argument("--baseline-pairs", type=int, default=2000)
    bench_import.add_argument("--json", action="store_true", help="print the figures as JSON")
    _broker_arguments(bench_import)
    bench_import.set_defaults(run=_bench_import)
    bench_recovery = bench_commands.add_parser(
        "recovery",
        help="restoring the block list after a worker lost its disk; memory as the list grows",
        description="For each size: fill the block-list changelog, start a classify worker, "
        "stop it, delete its local state, start it again. Prints entries restored per second, "
        "time to ready and peak RSS, and the RSS ratio of the largest size to the smallest.",
    )
    bench_recovery.add_argument(
        "--entries",
        default="10000,1000000",
        help="comma-separated block-list sizes, smallest first (default 10000,1000000)",
    )
    bench_recovery.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench_recovery.set_defaults(run=_bench_recovery)
    bench_state = bench_commands.add_parser(
        "state",
        help="dedupe state after many messages: bounded by the retention, not by the traffic",
        description="For each size: a fresh broker and classify worker with a short dedupe "
        "retention, that many realistic messages at full speed; prints the seen-marks alive "
        "on the changelog (what a restarting worker restores), its records and the worker's "
        "data on disk, and the ratio of live marks of the largest size to the smallest.",
    )
    bench_state.add_argument(
        "--messages", default="100000,1000000", help="comma-separated sizes, smallest first"
    )
    bench_state.add_argument(
        "--retention-seconds", type=float, default=10.0, help="dedupe retention (default 10)"
    )
    bench_state.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench_state.set_defaults(run=_bench_state)


def _bench_classify(args: argparse.Namespace) -> int:
    from optout.streams.bench.classify import bench_classify

    print(f"classifying {args.messages:,} messages of a realistic mix ...", file=sys.stderr)
    return report(bench_classify(args.messages), args.json, _classify_rows)


def _classify_rows(figures: dict) -> list[tuple[str, str]]:
    def verdict(met: bool) -> str:
        return f"{figures['target_per_second']:,}/s: {'met' if met else 'MISSED'}"

    return [
        ("classifier (the mix)", f"{figures['classifications_per_second']:,}/s"),
        ("baseline (str.upper().split())", f"{figures['baseline_upper_split_per_second']:,}/s"),
        ("ratio to baseline", str(figures["ratio_to_baseline"])),
        (
            f"ordinary texts ({figures['ordinary_texts']:,}, no cue)",
            f"{figures['ordinary_per_second']:,}/s",
        ),
        (
            f"texts with a cue ({figures['texts_with_a_cue']:,})",
            f"{figures['with_a_cue_per_second']:,}/s",
        ),
        ("target (ordinary texts)", verdict(figures["ordinary_meets_target"])),
        ("target (the mix)", verdict(figures["meets_target"])),
        ("intents", ", ".join(f"{k} {v}" for k, v in sorted(figures["intents"].items()))),
    ]


def _bench_blocklist(args: argparse.Namespace) -> int:
    from optout.streams.bench.lookups import bench_blocklist

    figures = bench_blocklist(args.pairs, args.seconds, args.rate)
    return report(figures, args.json, _blocklist_rows)


def _blocklist_rows(figures: dict) -> list[tuple[str, str]]:
    single, fixed = figures["http_single"], figures["http_fixed_rate"]
    baseline = figures["http_healthz_baseline"]
    reader, as_dict = figures["reader_lookups_per_second"], figures["dict_baseline_per_second"]
    replica, replica_fixed = figures["replica_single"], figures["replica_fixed_rate"]
    return [
        ("pairs blocked", f"{figures['pairs']:,}"),
        ("HTTP /healthz (baseline)", f"{baseline['requests_per_second']:,}/s"),
        ("HTTP single lookups", f"{single['requests_per_second']:,}/s, "
         f"{single['requests_per_second'] / baseline['requests_per_second']:.2f} of baseline"),
        (f"HTTP at {fixed['offered_per_second']:,}/s: p50/p99/max",
         f"{fixed['p50_ms']}/{fixed['p99_ms']}/{fixed['max_ms']} ms "
         f"(target p99 < 5 ms: {'met' if fixed['p99_ms'] < 5 else 'MISSED'})"),
        (f"/healthz at {fixed['offered_per_second']:,}/s: p50/p99/max (baseline)",
         "{p50_ms}/{p99_ms}/{max_ms} ms".format(**figures["http_healthz_fixed_rate"])),
        ("HTTP batch lookups", f"{figures['http_batch_pairs_per_second']:,} pairs/s"),
        (f"constant-answer aiohttp at {fixed['offered_per_second']:,}/s (floor)",
         "{p50_ms}/{p99_ms}/{max_ms} ms".format(**figures["floor_fixed_rate"])),
        ("replica (optout lookups) single", f"{replica['requests_per_second']:,}/s"),
        (f"replica at {fixed['offered_per_second']:,}/s: p50/p99/max",
         f"{replica_fixed['p50_ms']}/{replica_fixed['p99_ms']}/{replica_fixed['max_ms']} ms "
         f"(target p99 < 5 ms: {'met' if replica_fixed['p99_ms'] < 5 else 'MISSED'})"),
        ("reader lookups",
         f"{reader:,}/s (target 500,000: {'met' if reader >= 500_000 else 'MISSED'})"),
        ("dict lookups (baseline)", f"{as_dict:,}/s, reader at {reader / as_dict:.2f}"),
    ]  # fmt: skip


def _broker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker-url",
        metavar="HOST:PORT[,HOST:PORT...]",
        help="run every row on this Kafka cluster (e.g. the one `make kafka` starts: "
        "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094), topics replicated up to 3 times, "
        "instead of a fresh embedded broker; the cluster must not have the service's topics",
    )
    parser.add_argument(
        "--wipe",
        action="store_true",
        help="with --broker-url: delete the service's and the benchmarks' topics there first "
        "(their records are lost)",
    )


def _bench_pipeline(args: argparse.Namespace) -> int:
    from optout.streams.bench.pipeline import bench_pipeline

    figures = bench_pipeline(
        args.messages, args.rate, args.latency_seconds, args.workers, args.broker_url, args.wipe
    )
    return report(figures, args.json, _pipeline_rows)


def _pipeline_rows(figures: dict) -> list[tuple[str, str]]:
    latency = figures["latency_at_rate"]
    baseline = figures["baseline_events_per_second"]

    def against_baseline(rate: int) -> str:
        return f"{rate:,}/s, {rate / baseline:.2f} of baseline"

    return [
        ("messages", f"{figures['messages']:,}"),
        ("classify workers", str(figures["workers"])),
        ("raw aiokafka, consume + produce x2", f"{baseline:,}/s"),
        ("raw aiokafka, the pipeline's two hops",
         against_baseline(figures["raw_two_hops_events_per_second"])),
        ("Faust, the two hops doing no work",
         against_baseline(figures["faust_two_hops_events_per_second"])),
        ("Faust, one hop doing no work",
         against_baseline(figures["faust_one_hop_events_per_second"])),
        ("Quix Streams, one hop, stateful with a changelog",
         against_baseline(figures["quix_streams_events_per_second"])
         if figures["quix_streams_events_per_second"] else 'skipped: pip install -e ".[peers]"'),
        ("classify pipeline", f"{figures['pipeline_events_per_second']:,}/s"),
        ("ratio to baseline (target 0.65)", str(figures["ratio_to_baseline"])),
        (f"latency at {latency['offered_per_second']:,}/s: p50/p99/max",
         f"{latency['p50_ms']}/{latency['p99_ms']}/{latency['max_ms']} ms (target p99 < 25 ms)"),
        _received_row("", figures),
        ("worker peak RSS", f"{figures['worker_peak_rss_mb']} MB"),
        *_exactly_once_rows(figures["exactly_once"], "classify pipeline",
                            "pipeline_events_per_second"),
    ]  # fmt: skip


def _received_row(prefix: str, figures: dict) -> tuple[str, str]:
    """Latency until a consumer reading committed records receives each result (the row above
    is to its broker timestamp)."""
    latency = figures["received_latency_at_rate"]
    return (
        f"{prefix}received by a reader: p50/p99/max",
        f"{latency['p50_ms']}/{latency['p99_ms']}/{latency['max_ms']} ms",
    )


def _exactly_once_rows(figures: dict | None, what: str, rate: str) -> list[tuple[str, str]]:
    """The rows of a run with Kafka transactions: `what` ran, its `rate` figure."""
    if figures is None:
        return [
            (
                f"{what}, exactly-once",
                "skipped: the embedded broker has no transactions (--broker-url)",
            )
        ]
    latency = figures["latency_at_rate"]
    rows = [
        (f"{what}, exactly-once", f"{figures[rate]:,}/s"),
        ("exactly-once: ratio to baseline", str(figures["ratio_to_baseline"])),
        (f"exactly-once: latency at {latency['offered_per_second']:,}/s: p50/p99/max",
         f"{latency['p50_ms']}/{latency['p99_ms']}/{latency['max_ms']} ms"),
        _received_row("exactly-once: ", figures),
    ]  # fmt: skip
    if "worker_peak_rss_mb" in figures:
        rows.append(("exactly-once: worker peak RSS", f"{figures['worker_peak_rss_mb']} MB"))
    return rows


def _bench_gate(args: argparse.Namespace) -> int:
    from optout.streams.bench.gate import bench_gate

    figures = bench_gate(
        args.messages, args.rate, args.latency_seconds, args.broker_url, args.wipe, args.kind_aware
    )
    return report(figures, args.json, _gate_rows)


def _gate_rows(figures: dict) -> list[tuple[str, str]]:
    latency = figures["latency_at_rate"]
    return [
        ("sends", f"{figures['messages']:,}, {figures['blocked_share']:.0%} to opted-out users"
                  + (", from a kind-aware brand" if figures["kind_aware"] else "")),
        ("raw aiokafka, consume + produce", f"{figures['baseline_events_per_second']:,}/s"),
        ("Faust, one hop doing no work",
         f"{figures['faust_one_hop_events_per_second']:,}/s, "
         f"{figures['faust_one_hop_events_per_second'] / figures['baseline_events_per_second']:.2f}"
         " of baseline"),
        ("gate", f"{figures['gate_sends_per_second']:,}/s"),
        ("ratio to baseline (goal 0.5)", str(figures["ratio_to_baseline"])),
        (f"latency at {latency['offered_per_second']:,}/s: p50/p99/max",
         f"{latency['p50_ms']}/{latency['p99_ms']}/{latency['max_ms']} ms (goal p99 < 25 ms)"),
        _received_row("", figures),
        *_exactly_once_rows(figures["exactly_once"], "gate", "gate_sends_per_second"),
    ]  # fmt: skip


def _bench_import(args: argparse.Namespace) -> int:
    from optout.streams.bench.imports import bench_import

    figures = bench_import(args.lines, args.baseline_pairs, args.broker_url, args.wipe)
    return report(figures, args.json, _import_rows)


def _import_rows(figures: dict) -> list[tuple[str, str]]:
    lines = figures["lines"]
    return [
        ("blocks made one by one (baseline)", f"{figures['baseline_changes_per_second']:,}/s"),
        (f"dry run of {lines:,} lines", f"{figures['dry_run_seconds']} s, "
                                        f"{figures['dry_run_lines_per_second']:,} lines/s"),
        (f"{lines:,} lines applied", f"{figures['applied_seconds']} s (the command: "
                                     f"{figures['apply_command_seconds']} s), "
                                     f"{figures['applied_lines_per_second']:,} lines/s"),
        ("ratio to baseline", str(figures["ratio_to_baseline"])),
        ("the same file again (dry run)", f"{figures['again_seconds']} s"),
        ("peak memory: worker / command line", f"{figures['worker_peak_rss_mb']} / "
                                               f"{figures['command_line_peak_rss_mb']} MB"),
    ]  # fmt: skip


def _bench_recovery(args: argparse.Namespace) -> int:
    from optout.streams.bench.recovery import bench_recovery

    sizes = sorted(int(size) for size in args.entries.split(","))
    return report(bench_recovery(sizes), args.json, _recovery_rows)


def _recovery_rows(figures: dict) -> list[tuple[str, str]]:
    rows = []
    for run in figures["runs"]:
        rate = run["entries"] / max(run["restore_seconds"], 1e-3)
        rows += [
            (f"{run['entries']:,} entries: restored", f"{rate:,.0f} entries/s "
             f"in {run['restore_seconds']} s (target 100,000/s)"),
            (f"{run['entries']:,} entries: baseline, reader copy",
             f"{run['entries'] / max(run['reader_seconds'], 1e-3):,.0f} entries/s"),
            (f"{run['entries']:,} entries: ready after", f"{run['ready_after_seconds']} s"),
            (f"{run['entries']:,} entries: worker peak RSS", f"{run['worker_peak_rss_mb']} MB"),
        ]  # fmt: skip
    rows.append(
        ("RSS, largest / smallest", f"{figures['rss_ratio_largest_to_smallest']} (target <= 1.5)")
    )
    return rows


def _bench_state(args: argparse.Namespace) -> int:
    from optout.streams.bench.state import bench_state

    sizes = sorted(int(size) for size in args.messages.split(","))
    return report(bench_state(sizes, args.retention_seconds), args.json, _state_rows)


def _state_rows(figures: dict) -> list[tuple[str, str]]:
    rows = []
    for run in figures["runs"]:
        rows += [
            (f"{run['messages']:,} messages: seen-marks alive", f"{run['live_seen_marks']:,}"),
            (f"{run['messages']:,} messages: changelog records", f"{run['changelog_records']:,}"),
            (
                f"{run['messages']:,} messages: seen-messages table on disk",
                f"{run['seen_table_mb']} MB",
            ),
            (f"{run['messages']:,} messages: worker data on disk", f"{run['data_dir_mb']} MB"),
            (f"{run['messages']:,} messages: classified", f"{run['events_per_second']:,}/s"),
        ]
    ratio = figures["live_marks_largest_to_smallest"]
    rows.append(("seen-marks alive, largest / smallest",
                 f"{ratio} (target <= 1: {'met' if ratio <= 1 else 'MISSED'})"))  # fmt: skip
    return rows
