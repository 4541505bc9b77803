"""`optout`: the one command line front door (run `optout --help`)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

from optout.streams.config import AGENT_MODULES, BENCH_AGENT_MODULES, Config
from optout.streams.topics import DEAD_LETTER_TOPIC, INBOUND_TOPIC, WEBHOOK_TOPIC

RUN_FILE = Path(os.environ.get("OPTOUT_HOME", Path.home() / ".optout")) / "up.json"
DEFAULT_EMBEDDED_PORT = 9092
CARRIER_STAND_IN_PORT = int(os.environ.get("OPTOUT_UP_CARRIER_PORT", "6070"))
WEBHOOK_STAND_IN_PORT = int(os.environ.get("OPTOUT_UP_WEBHOOK_PORT", "6071"))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except NoBroker as exc:
        print(f"optout: {exc}", file=sys.stderr)
        return 1
    except TimeoutError:
        print("optout: the broker did not answer in time", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optout",
        description="Opt-Out Assist on Kafka: STOP/START/HELP handling for SMS and MMS. "
        "Configuration comes from OPTOUT_* environment variables (see README).",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    up = commands.add_parser(
        "up",
        help="run everything locally: embedded broker, all agents, carrier and webhook stand-ins",
        description="Start the embedded broker, every agent, a carrier send-API stand-in on "
        f"127.0.0.1:{CARRIER_STAND_IN_PORT} and a webhook receiver on 127.0.0.1:"
        f"{WEBHOOK_STAND_IN_PORT}, which print what they receive. Stop with Ctrl-C.",
    )
    up.set_defaults(run=_up)

    worker = commands.add_parser(
        "worker",
        help="run agents against the configured broker (OPTOUT_BROKER_URL)",
        description="Run a worker. Without OPTOUT_BROKER_URL it starts the embedded broker.",
    )
    worker.add_argument(
        "--agents",
        default=",".join(AGENT_MODULES),
        help=f"comma-separated agents to run, of: {', '.join(AGENT_MODULES)} (default: all)",
    )
    worker.set_defaults(run=_worker)

    lookups = commands.add_parser(
        "lookups",
        help="serve block-list lookups from a replica of the block list (no stream processing)",
        description="Follow the block list's changelog into a local RocksDB copy and answer "
        "GET /v1/blocklist/{number}/{sender} and POST /v1/blocklist/check, as the workers do, "
        "from a process that does nothing else. Finds a running `optout up` by itself; "
        "OPTOUT_BROKER_URL overrides. /healthz is 200 once the copy has caught up.",
    )
    lookups.add_argument("--host", default=os.environ.get("OPTOUT_LOOKUP_HOST", "127.0.0.1"))
    lookups.add_argument(
        "--port", type=int, default=int(os.environ.get("OPTOUT_LOOKUP_PORT", "6067"))
    )
    lookups.add_argument(
        "--fetch-wait-ms",
        type=int,
        default=int(os.environ.get("OPTOUT_LOOKUP_FETCH_WAIT_MS", "50")),
        help="longest a change waits before the replica asks the broker again (default 50)",
    )
    lookups.set_defaults(run=_lookups)

    inject = commands.add_parser(
        "inject",
        help="produce one inbound message, as a carrier would",
        description="Produce one InboundMessage to inbound-messages. Finds a running "
        "`optout up` by itself; OPTOUT_BROKER_URL overrides.",
    )
    inject.add_argument("--from", dest="from_number", required=True, help="end user, E.164")
    inject.add_argument("--to", dest="to_number", required=True, help="business number, E.164")
    inject.add_argument("--text", default="", help="message text")
    inject.add_argument("--mms", action="append", default=[], metavar="URL", help="media URL")
    inject.add_argument("--message-id", help="carrier message id (default: a new UUID)")
    inject.add_argument("--carrier", help="carrier name")
    inject.set_defaults(run=_inject)

    blocklist = commands.add_parser("blocklist", help="ask or manage the block list")
    blocklist_commands = blocklist.add_subparsers(required=True, metavar="ACTION")
    check = blocklist_commands.add_parser(
        "check",
        help="may NUMBER text SENDER? prints the lookup's JSON",
        description="Print the block-list lookup for a pair. Exits 0 whether or not the pair "
        "is blocked; non-zero only when no answer can be had.",
    )
    check.add_argument("number", help="business number, E.164")
    check.add_argument("sender", help="end user's number, E.164")
    check.set_defaults(run=_blocklist_check)
    for change, helptext in (
        ("add", "block a pair by hand (an opt-out received by phone or email)"),
        ("remove", "unblock a pair by hand"),
    ):
        command = blocklist_commands.add_parser(
            change,
            help=helptext,
            description=f"{helptext.capitalize()}. Goes through Kafka like any other change; "
            "needs an admin token in OPTOUT_TOKEN.",
        )
        command.add_argument("number", help="business number, E.164")
        command.add_argument("sender", help="end user's number, E.164")
        command.add_argument("--reason", required=True, help="why, for the audit history")
        command.set_defaults(run=_blocklist_change, change=change)
    history = blocklist_commands.add_parser(
        "history", help="every change of a pair; with --at, was it blocked then and why"
    )
    history.add_argument("number")
    history.add_argument("sender")
    history.add_argument("--at", help="a time: ISO 8601 (UTC if no zone) or epoch ms")
    history.set_defaults(run=_blocklist_history)
    export = blocklist_commands.add_parser(
        "export",
        help="write blocked pairs as CSV (one number's or all)",
        description="Read the block list's changelog and write CSV, with progress on stderr.",
    )
    export.add_argument("--number", help="only this business number")
    export.add_argument("--output", help="file to write (default: standard output)")
    export.add_argument("--all", action="store_true", help="unblocked pairs too")
    export.set_defaults(run=_blocklist_export)

    classify = commands.add_parser(
        "classify",
        help="classify texts with the keyword policy (no broker needed)",
        description="Classify --text, or each line of standard input, and print one JSON object "
        "per text with intent, keyword, language, rule and review.",
    )
    classify.add_argument("--text", help="one text to classify (default: read lines from stdin)")
    classify.set_defaults(run=_classify)

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
        description="Starts an embedded broker; measures raw aiokafka consume-and-produce-twice "
        "(baseline), the pipeline's two hops in raw aiokafka and as Faust agents doing no work "
        "(a worker running `--agents bench-hops`), the classify worker draining "
        "--messages realistic messages, end-to-end latency at --rate messages/s, and the "
        "worker's peak memory.",
    )
    bench_pipeline.add_argument("--messages", type=int, default=20_000)
    bench_pipeline.add_argument("--rate", type=int, default=1000, help="offered load, msgs/s")
    bench_pipeline.add_argument("--latency-seconds", type=float, default=10.0)
    bench_pipeline.add_argument(
        "--workers", type=int, default=1, help="classify workers sharing the partitions"
    )
    bench_pipeline.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench_pipeline.set_defaults(run=_bench_pipeline)
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

    numbers = commands.add_parser(
        "numbers",
        help="per-number settings: keywords, replies, webhook",
        description="Read and change per-number settings on the number-settings topic. "
        "Changes that would make a reply non-compliant are refused.",
    )
    numbers_commands = numbers.add_subparsers(required=True, metavar="ACTION")
    numbers_get = numbers_commands.add_parser("get", help="print a number's settings")
    numbers_get.add_argument("number", help="business number, E.164")
    numbers_get.set_defaults(run=_numbers_get)
    numbers_list = numbers_commands.add_parser("list", help="print every number's settings")
    numbers_list.set_defaults(run=_numbers_list)
    numbers_set = numbers_commands.add_parser(
        "set",
        help="change a number's settings",
        description="Change the given settings of a number and keep the rest. Reply names are "
        "<intent>.<language>: opt_out.en, opt_in.fr, help.es, help.en+fr, ...; reply texts may "
        "use {brand} and {contact}.",
    )
    numbers_set.add_argument("number", help="business number, E.164")
    state = numbers_set.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="enabled", action="store_true", default=None)
    state.add_argument("--disable", dest="enabled", action="store_false")
    numbers_set.add_argument("--brand", dest="brand_name")
    numbers_set.add_argument("--help-contact")
    numbers_set.add_argument("--webhook-url")
    numbers_set.add_argument("--webhook-secret", help="key for the webhook signatures")
    for intent in ("opt-out", "opt-in", "help"):
        numbers_set.add_argument(
            f"--add-{intent}", action="append", default=[], metavar="KEYWORD",
            help=f"an extra {intent} keyword (repeatable)",
        )  # fmt: skip
    numbers_set.add_argument(
        "--remove-keyword", action="append", default=[], metavar="KEYWORD",
        help="a default keyword this number should not answer to (not STOP, START or HELP)",
    )  # fmt: skip
    numbers_set.add_argument(
        "--reply", action="append", default=[], metavar="NAME=TEXT", help="an own reply text"
    )
    numbers_set.set_defaults(run=_numbers_set)

    webhooks = commands.add_parser("webhooks", help="webhook deliveries")
    webhooks_commands = webhooks.add_subparsers(required=True, metavar="ACTION")
    replay = webhooks_commands.add_parser(
        "replay",
        help="send dead-lettered webhook deliveries again",
        description="Put webhook deliveries that were dead-lettered back on customer-webhook, "
        "once the customer has fixed their endpoint. Each goes to the number's current "
        "webhook URL with its original Idempotency-Key.",
    )
    replay.add_argument("--dlq", default=DEAD_LETTER_TOPIC, help="dead-letter topic to read")
    replay.add_argument("--number", help="only deliveries for this business number")
    replay.add_argument("--since", help="only dead-lettered at or after this ISO 8601 time")
    replay.add_argument("--dry-run", action="store_true", help="list, do not send")
    replay.set_defaults(run=_webhooks_replay)
    return parser


def _up(args: argparse.Namespace) -> int:
    from optout.streams.embedded.standins import StandIn, StandInsService

    stand_ins = [
        StandIn("carrier API stand-in", CARRIER_STAND_IN_PORT, status=202),
        StandIn("webhook receiver", WEBHOOK_STAND_IN_PORT),
    ]
    os.environ.setdefault("OPTOUT_CARRIER_API_URL", f"{stand_ins[0].url}/v1/messages")
    os.environ.setdefault("OPTOUT_DEFAULT_WEBHOOK_URL", f"{stand_ins[1].url}/webhooks/inbound")
    os.environ.setdefault("OPTOUT_DEFAULT_BRAND", "Demo Brand")
    os.environ.setdefault("OPTOUT_DEFAULT_HELP_CONTACT", "help@example.com")
    os.environ.setdefault("OPTOUT_DEFAULT_WEBHOOK_SECRET", "demo-secret")
    # The local demo's stand-ins listen on plain http on loopback: allowed here, explicitly.
    os.environ.setdefault("OPTOUT_WEBHOOK_ALLOW_HTTP", "true")
    os.environ.setdefault("OPTOUT_WEBHOOK_ALLOW_PRIVATE", "true")
    os.environ.pop("OPTOUT_BROKER_URL", None)  # `up` always runs on its own embedded broker
    return _run_worker(tuple(AGENT_MODULES), StandInsService(stand_ins), announce=True)


def _worker(args: argparse.Namespace) -> int:
    agents = tuple(a.strip() for a in args.agents.split(",") if a.strip())
    unknown = sorted(set(agents) - set(AGENT_MODULES) - set(BENCH_AGENT_MODULES))
    if unknown or not agents:
        print(
            f"optout worker: unknown agents {unknown}; choose from {', '.join(AGENT_MODULES)}",
            file=sys.stderr,
        )
        return 2
    return _run_worker(agents)


def _run_worker(agents: tuple[str, ...], *services: object, announce: bool = False) -> int:
    from optout.streams.cli.logs import configure_logging
    from optout.streams.embedded.broker import BrokerUnavailable, EmbeddedBroker, ensure_topics

    os.environ["OPTOUT_AGENTS"] = ",".join(agents)
    logging_config = configure_logging(Config().log_level, Config().log_format)
    broker = None
    if not os.environ.get("OPTOUT_BROKER_URL"):
        port = int(os.environ.get("OPTOUT_EMBEDDED_BROKER_PORT", DEFAULT_EMBEDDED_PORT))
        broker = EmbeddedBroker(port)
        try:
            broker.start()
        except BrokerUnavailable as exc:
            print(f"optout: {exc}", file=sys.stderr)
            return 1
        os.environ["OPTOUT_BROKER_URL"] = broker.bootstrap
        os.environ["OPTOUT_EMBEDDED_BROKER"] = "true"
        # The embedded broker starts empty: table state from an earlier run must not be reused.
        os.environ["OPTOUT_DATA_DIR"] = tempfile.mkdtemp(prefix="optout-data-")
    config = Config()
    try:
        asyncio.run(
            ensure_topics(
                config.broker_url,
                config.partitions,
                config.replication_factor,
                config.broker_wait_seconds,
            )
        )
        if announce:
            _write_run_file(config)
        return _run_faust_worker(config, services, logging_config)
    except BrokerUnavailable as exc:
        print(f"optout: {exc}", file=sys.stderr)
        return 1
    finally:
        if announce:
            RUN_FILE.unlink(missing_ok=True)
        if broker is not None:
            broker.stop()


def _run_faust_worker(
    config: Config, services: tuple[object, ...], logging_config: dict | None
) -> int:
    import faust

    from optout.streams.app import app
    from optout.streams.runtime.faust_patches import install_commit_fix, install_eager_delivery

    install_commit_fix()
    install_eager_delivery()
    if config.embedded_broker:
        from optout.streams.embedded.tansu_quirks import (
            install_end_offset_workaround,
            install_fetch_workarounds,
            install_skipped_records_workaround,
        )

        install_end_offset_workaround(config.broker_url)
        install_fetch_workarounds()
        install_skipped_records_workaround()
    for agent in config.agents:
        for module in (AGENT_MODULES | BENCH_AGENT_MODULES)[agent]:
            importlib.import_module(module)
    importlib.import_module("optout.streams.web.health")
    if config.prefill_tables:
        from optout.streams.runtime.table_prefill import prefill_tables

        tables = list(app.tables.values())
        asyncio.run(prefill_tables(config.broker_url, tables, config.consumer_max_fetch_bytes))
    worker = faust.Worker(
        app,
        *services,  # type: ignore[arg-type]
        loglevel=config.log_level,
        logging_config=logging_config,
    )
    # Faust's start-up spinner, at log levels from WARNING up, turns the root logger to DEBUG so
    # that every library debug message reaches it: a large cost per message for no output.
    worker.spinner = None
    try:
        worker.execute_from_commandline()
    except SystemExit as exit:
        return int(exit.code or 0)
    return 0


def _write_run_file(config: Config) -> None:
    RUN_FILE.parent.mkdir(parents=True, exist_ok=True)
    RUN_FILE.write_text(
        json.dumps(
            {"broker_url": config.broker_url, "web_url": config.canonical_url, "pid": os.getpid()}
        )
    )


def _running_up() -> dict[str, str]:
    """Where a running `optout up` listens, if one is running."""
    try:
        found = json.loads(RUN_FILE.read_text())
        os.kill(int(found["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return {}
    return found


class NoBroker(Exception):
    """No broker configured and no running `optout up` to find."""


def _broker_url(config: Config) -> str:
    broker_url = config.broker_url or _running_up().get("broker_url")
    if not broker_url:
        raise NoBroker("no broker: start `optout up` or set OPTOUT_BROKER_URL")
    return broker_url


def _registry(config: Config):  # type: ignore[no-untyped-def]
    from optout.schemas.registry import SchemaRegistry

    return SchemaRegistry(config.schema_registry_url) if config.schema_registry_url else None


def _lookups(args: argparse.Namespace) -> int:
    from optout.streams.cli.logs import configure_logging
    from optout.tables.client.lookup_replica import serve

    config = Config()
    configure_logging(config.log_level, config.log_format)
    if config.embedded_broker:
        from optout.streams.embedded.tansu_quirks import install_skipped_records_workaround

        install_skipped_records_workaround()
    data_dir = config.data_dir / f"lookup-replica-{args.port}"
    asyncio.run(
        serve(
            _broker_url(config),
            data_dir,
            args.host,
            args.port,
            args.fetch_wait_ms,
            config.schema_registry_url or None,
        )
    )
    return 0


def _inject(args: argparse.Namespace) -> int:
    from optout.schemas import AvroSerde

    config = Config()
    broker_url = _broker_url(config)
    message = {
        "message_id": args.message_id or str(uuid.uuid4()),
        "channel": "MMS" if args.mms else "SMS",
        "from_number": args.from_number,
        "to_number": args.to_number,
        "text": args.text,
        "media_urls": args.mms,
        "received_at": int(time.time() * 1000),
        "carrier": args.carrier,
    }
    value = AvroSerde("inbound_message", INBOUND_TOPIC, _registry(config)).encode(message)
    asyncio.run(_produce(broker_url, INBOUND_TOPIC, args.from_number.encode(), value))
    print(json.dumps({"produced": INBOUND_TOPIC, "message_id": message["message_id"]}))
    return 0


async def _produce(broker_url: str, topic: str, key: bytes, value: bytes) -> None:
    await _produce_many(broker_url, topic, [(key, value)])


async def _produce_many(
    broker_url: str, topic: str, records: list[tuple[bytes | None, bytes]]
) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=broker_url, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


def _web_call(
    what: str, method: str, path: str, body: dict | None = None, query: dict | None = None
) -> int:
    """Call the running service's HTTP API, print the JSON answer; 0 on success, 1 if not."""
    web_url = os.environ.get("OPTOUT_WEB_URL") or _running_up().get("web_url")
    web_url = web_url or f"http://127.0.0.1:{os.environ.get('OPTOUT_WEB_PORT', '6066')}"
    url = (
        web_url + urllib.parse.quote(path) + ("?" + urllib.parse.urlencode(query) if query else "")
    )
    headers = {"Content-Type": "application/json"}
    if os.environ.get("OPTOUT_TOKEN"):
        headers["Authorization"] = f"Bearer {os.environ['OPTOUT_TOKEN']}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            print(json.dumps(json.loads(response.read()), indent=2))
            return 0
    except urllib.error.HTTPError as exc:
        print(f"optout {what}: {exc.code}: {exc.read().decode()}", file=sys.stderr)
    except OSError as exc:
        print(
            f"optout {what}: cannot reach {web_url} ({exc}); is `optout up` running?",
            file=sys.stderr,
        )
    return 1


def _blocklist_check(args: argparse.Namespace) -> int:
    return _web_call("blocklist check", "GET", f"/v1/blocklist/{args.number}/{args.sender}")


def _blocklist_change(args: argparse.Namespace) -> int:
    method = "POST" if args.change == "add" else "DELETE"
    path = f"/v1/blocklist/{args.number}/{args.sender}"
    return _web_call(f"blocklist {args.change}", method, path, {"reason": args.reason})


def _blocklist_history(args: argparse.Namespace) -> int:
    path = f"/v1/blocklist/{args.number}/{args.sender}/history"
    return _web_call("blocklist history", "GET", path, query={"at": args.at} if args.at else None)


def _blocklist_export(args: argparse.Namespace) -> int:
    import csv

    from optout.schemas import AvroSerde
    from optout.streams.topics import BLOCKLIST_CHANGELOG_TOPIC
    from optout.tables.client.topic_reader import TopicReader, read_until_caught_up

    config = Config()
    serde = AvroSerde("blocklist_entry", BLOCKLIST_CHANGELOG_TOPIC, _registry(config))
    entries: dict[bytes, dict] = {}
    reader = TopicReader(_broker_url(config), BLOCKLIST_CHANGELOG_TOPIC, entries, serde.decode)
    asyncio.run(read_until_caught_up(reader, timeout=600, progress=_progress("reading block list")))
    rows = sorted(
        (e for e in entries.values() if e["blocked"] or args.all),
        key=lambda e: (e["business_number"], e["end_user_number"]),
    )
    rows = [e for e in rows if not args.number or e["business_number"] == args.number]
    output = open(args.output, "w", newline="") if args.output else sys.stdout  # noqa: SIM115
    try:
        fields = ["business_number", "end_user_number", "blocked", "since", "source", "keyword",
                  "message_id", "reason", "actor"]  # fmt: skip
        writer = csv.DictWriter(output, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for entry in rows:
            writer.writerow(entry | {"since": _iso(entry["since"])})
    finally:
        if args.output:
            output.close()
    print(f"exported {len(rows)} pairs", file=sys.stderr)
    return 0


def _iso(epoch_ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds")


def _progress(label: str):  # type: ignore[no-untyped-def]
    """A progress line on standard error: records applied of those known to exist."""

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}",
              end="" if done < total else "\n", file=sys.stderr, flush=True)  # fmt: skip

    return show


def _classify(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from optout.streams.rules.keywords import classify_text

    texts = [args.text] if args.text is not None else (line.rstrip("\n") for line in sys.stdin)
    for text in texts:
        result = asdict(classify_text(text)) | {"text": text}
        result["intent"] = result["intent"].lower()
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


def _report(figures: dict, as_json: bool, rows: Callable[[dict], list[tuple[str, str]]]) -> int:
    """Print benchmark figures as JSON, or as a plain two-column table."""
    if as_json:
        print(json.dumps(figures, indent=2))
        return 0
    table = rows(figures)
    width = max(len(name) for name, _ in table) + 2
    for name, value in table:
        print(f"{name:<{width}}{value}")
    return 0


def _bench_classify(args: argparse.Namespace) -> int:
    from optout.streams.bench.classify import bench_classify

    print(f"classifying {args.messages:,} messages of a realistic mix ...", file=sys.stderr)
    return _report(bench_classify(args.messages), args.json, _classify_rows)


def _classify_rows(figures: dict) -> list[tuple[str, str]]:
    return [
        ("classifier", f"{figures['classifications_per_second']:,}/s"),
        ("baseline (str.upper().split())", f"{figures['baseline_upper_split_per_second']:,}/s"),
        ("ratio to baseline", str(figures["ratio_to_baseline"])),
        (
            "target",
            f"{figures['target_per_second']:,}/s: {'met' if figures['meets_target'] else 'MISSED'}",
        ),
        ("intents", ", ".join(f"{k} {v}" for k, v in sorted(figures["intents"].items()))),
    ]


def _bench_blocklist(args: argparse.Namespace) -> int:
    from optout.streams.bench.lookups import bench_blocklist

    figures = bench_blocklist(args.pairs, args.seconds, args.rate)
    return _report(figures, args.json, _blocklist_rows)


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


def _bench_pipeline(args: argparse.Namespace) -> int:
    from optout.streams.bench.pipeline import bench_pipeline

    figures = bench_pipeline(args.messages, args.rate, args.latency_seconds, args.workers)
    return _report(figures, args.json, _pipeline_rows)


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
        ("classify pipeline", f"{figures['pipeline_events_per_second']:,}/s"),
        ("ratio to baseline (target 0.65)", str(figures["ratio_to_baseline"])),
        (f"latency at {latency['offered_per_second']:,}/s: p50/p99/max",
         f"{latency['p50_ms']}/{latency['p99_ms']}/{latency['max_ms']} ms (target p99 < 25 ms)"),
        ("worker peak RSS", f"{figures['worker_peak_rss_mb']} MB"),
    ]  # fmt: skip


def _bench_recovery(args: argparse.Namespace) -> int:
    from optout.streams.bench.recovery import bench_recovery

    sizes = sorted(int(size) for size in args.entries.split(","))
    return _report(bench_recovery(sizes), args.json, _recovery_rows)


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


def _settings_store(config: Config) -> dict[bytes, dict]:
    from optout.schemas import AvroSerde
    from optout.streams.topics import SETTINGS_TOPIC
    from optout.tables.client.topic_reader import read_to_end

    serde = AvroSerde("number_settings", SETTINGS_TOPIC, _registry(config))
    return asyncio.run(read_to_end(_broker_url(config), SETTINGS_TOPIC, serde.decode))


def _numbers_get(args: argparse.Namespace) -> int:
    from optout.streams.rules.number_settings import shown

    stored = _settings_store(Config()).get(args.number.encode())
    if stored is None:
        print(f"{args.number} has no settings: it uses the defaults (see README)", file=sys.stderr)
        return 1
    print(json.dumps(shown(stored), indent=2))
    return 0


def _numbers_list(args: argparse.Namespace) -> int:
    from optout.streams.rules.number_settings import shown

    for settings in _settings_store(Config()).values():
        print(json.dumps(shown(settings)))
    return 0


def _numbers_set(args: argparse.Namespace) -> int:
    from optout.schemas import AvroSerde
    from optout.streams.rules.number_settings import (
        apply_changes,
        default_settings,
        effective_settings,
        settings_problems,
        shown,
    )
    from optout.streams.topics import SETTINGS_TOPIC

    config = Config()
    current = _settings_store(config).get(args.number.encode()) or default_settings(args.number)
    changes: dict = {
        key: value
        for key in ("enabled", "brand_name", "help_contact", "webhook_url", "webhook_secret")
        if (value := getattr(args, key)) is not None
    }
    for option, field in (
        ("add_opt_out", "extra_opt_out_keywords"),
        ("add_opt_in", "extra_opt_in_keywords"),
        ("add_help", "extra_help_keywords"),
        ("remove_keyword", "removed_keywords"),
    ):
        if getattr(args, option):
            changes[field] = [*current[field], *getattr(args, option)]
    if args.reply:
        bad = [r for r in args.reply if "=" not in r]
        if bad:
            print(f"optout numbers set: --reply takes NAME=TEXT, not {bad}", file=sys.stderr)
            return 2
        changes["replies"] = current["replies"] | dict(r.split("=", 1) for r in args.reply)
    updated, problems = apply_changes(current, changes)
    updated |= {"number": args.number, "updated_at": int(time.time() * 1000)}
    defaults = default_settings(
        args.number,
        config.default_brand_name,
        config.default_help_contact,
        config.default_webhook_url or None,
    )
    problems = problems or settings_problems(effective_settings(updated, defaults))
    if problems:
        print(f"optout numbers set: refused, {args.number} would not comply:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    value = AvroSerde("number_settings", SETTINGS_TOPIC, _registry(config)).encode(updated)
    asyncio.run(_produce(_broker_url(config), SETTINGS_TOPIC, args.number.encode(), value))
    print(json.dumps(shown(updated), indent=2))
    return 0


def _webhooks_replay(args: argparse.Namespace) -> int:
    from datetime import datetime

    from optout.schemas import AvroSerde, DecodeError
    from optout.tables.client.topic_reader import read_records

    config = Config()
    broker_url = _broker_url(config)
    since_ms = int(datetime.fromisoformat(args.since).timestamp() * 1000) if args.since else 0
    dead_letters = AvroSerde("dead_letter", args.dlq, _registry(config))
    webhooks = AvroSerde("webhook_event", WEBHOOK_TOPIC, _registry(config))
    print(f"reading {args.dlq} ...", file=sys.stderr)
    chosen = []
    for record in asyncio.run(read_records(broker_url, args.dlq)):
        try:
            dead = dead_letters.decode(record.value)
            if dead["source_topic"] != WEBHOOK_TOPIC or dead["failed_at"] < since_ms:
                continue
            message = webhooks.decode(dead["value"])["message"]
        except DecodeError:
            continue
        if args.number and message["to_number"] != args.number:
            continue
        chosen.append((dead["key"], dead["value"], message["message_id"]))
    for done, (_, _, message_id) in enumerate(chosen, start=1):
        print(f"[{done}/{len(chosen)}] {'would replay' if args.dry_run else 'replay'} {message_id}")
    if not args.dry_run:
        asyncio.run(_produce_many(broker_url, WEBHOOK_TOPIC, [(k, v) for k, v, _ in chosen]))
    print(f"{'found' if args.dry_run else 'replayed'} {len(chosen)} webhook deliveries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
