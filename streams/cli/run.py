"""`optout up`, `optout worker`, `optout lookups`: the long-running processes."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

from optout.streams.cli.common import RUN_FILE, broker_url
from optout.streams.config import AGENT_MODULES, BENCH_AGENT_MODULES, Config

__all__ = [
    "CARRIER_STAND_IN_PORT",
    "DEFAULT_EMBEDDED_PORT",
    "EVERY_INTERFACE",
    "WEBHOOK_STAND_IN_PORT",
    "add_commands",
]

DEFAULT_EMBEDDED_PORT = 9092
CARRIER_STAND_IN_PORT = int(os.environ.get("OPTOUT_UP_CARRIER_PORT", "6070"))
WEBHOOK_STAND_IN_PORT = int(os.environ.get("OPTOUT_UP_WEBHOOK_PORT", "6071"))
# Hosts that mean every interface of the machine, not one address.
EVERY_INTERFACE = frozenset({"", "0.0.0.0", "::"})

log = logging.getLogger(__name__)


def add_commands(commands: argparse._SubParsersAction) -> None:
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
        description="Run a worker. Without OPTOUT_BROKER_URL it starts the embedded broker. "
        "On Apache Kafka, OPTOUT_PROCESSING_GUARANTEE=exactly_once commits the records and "
        "input offsets of classify, manage and the send gate in Kafka transactions "
        "(default: at_least_once). "
        "Every setting is an environment variable: see the README's Configuration.",
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
    from optout.streams.embedded.broker import EmbeddedBroker
    from optout.streams.exceptions import BrokerUnavailable
    from optout.streams.topics import ensure_topics

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
    if problem := _guarantee_problem(config):
        print(f"optout: {problem}", file=sys.stderr)
        return 2
    try:
        asyncio.run(
            ensure_topics(
                config.broker_url,
                config.partitions,
                config.replication_factor,
                config.broker_wait_seconds,
                consent_retention_ms=config.consent_retention_days * 86_400_000,
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


def _guarantee_problem(config: Config) -> str | None:
    if config.processing_guarantee not in ("at_least_once", "exactly_once"):
        return (
            f"OPTOUT_PROCESSING_GUARANTEE={config.processing_guarantee!r}: "
            "choose at_least_once or exactly_once"
        )
    if config.exactly_once and config.embedded_broker:
        return (
            "OPTOUT_PROCESSING_GUARANTEE=exactly_once needs Kafka transactions, which the "
            "embedded broker lacks: set OPTOUT_BROKER_URL to an Apache Kafka cluster "
            "(`make kafka` starts one)"
        )
    return None


def _run_faust_worker(
    config: Config, services: tuple[object, ...], logging_config: dict | None
) -> int:
    import faust
    import mode.loop

    from optout.streams.app import app
    from optout.streams.runtime.faust_patches import (
        install_commit_fix,
        install_eager_delivery,
        install_seek_that_holds,
        install_uncommitted_from_start,
    )
    from optout.streams.runtime.read_committed import (
        install_read_committed,
        install_skipped_offsets,
    )
    from optout.streams.runtime.transactions import (
        install_exactly_once,
        open_transactions,
        state_was_left,
        stopped_cleanly,
    )
    from optout.streams.web.errors import answer_refused_and_unknown

    if config.event_loop != "asyncio":
        mode.loop.use(config.event_loop)  # before any loop of the worker's is made

    install_commit_fix()
    install_eager_delivery()
    install_seek_that_holds()
    install_uncommitted_from_start()
    install_read_committed()
    if not config.embedded_broker:
        install_skipped_offsets()
    if config.exactly_once:
        state_was_left(Path(app.conf.tabledir))
    if config.embedded_broker:
        from optout.streams.embedded.tansu_quirks import (
            install_end_offset_workaround,
            install_fetch_workarounds,
            install_skipped_records_workaround,
        )

        install_end_offset_workaround(config.broker_url)
        install_fetch_workarounds()
        install_skipped_records_workaround()
    # Before any view is registered: the view decorators create the web server's application.
    app.conf.web_application_options = {"middlewares": [answer_refused_and_unknown]}
    for agent in config.agents:
        for module in (AGENT_MODULES | BENCH_AGENT_MODULES)[agent]:
            importlib.import_module(module)
    importlib.import_module("optout.streams.web.health")
    if config.exactly_once:
        install_exactly_once(list(app.tables.values()))
    if config.prefill_tables:
        from optout.streams.runtime.table_prefill import prefill_tables

        tables = list(app.tables.values())
        asyncio.run(prefill_tables(config.broker_url, tables, config.restore_fetch_bytes))
    _announce_web_server(config)
    worker = faust.Worker(
        app,
        *services,  # type: ignore[arg-type]
        loglevel=config.log_level,
        logging_config=logging_config,
    )
    # Faust's start-up spinner, at log levels from WARNING up, turns the root logger to DEBUG so
    # that every library debug message reaches it: a large cost per message for no output.
    worker.spinner = None
    code = 0
    try:
        worker.execute_from_commandline()
    except SystemExit as exit:
        code = int(exit.code or 0)
    if config.exactly_once and code == 0 and not open_transactions():
        stopped_cleanly(Path(app.conf.tabledir))
    return code


def _announce_web_server(config: Config) -> None:
    """Say where the web server listens: it answers lookups, histories with message texts,
    evidence and exports, so an address that others can reach must be a visible choice."""
    host = config.web_host
    address = f"[{host}]:{config.web_port}" if ":" in host else f"{host}:{config.web_port}"
    if host in EVERY_INTERFACE:
        log.warning(
            "web server listening on %s: every network interface (OPTOUT_WEB_HOST); anyone "
            "who reaches this machine on port %s can look up who opted out",
            address,
            config.web_port,
        )
    else:
        log.info("web server listening on http://%s (OPTOUT_WEB_HOST)", address)


def _write_run_file(config: Config) -> None:
    RUN_FILE.parent.mkdir(parents=True, exist_ok=True)
    announced = {
        "broker_url": config.broker_url,
        "web_url": config.canonical_url,
        "pid": os.getpid(),
        # What a number without settings gets here; `optout numbers set` checks against them.
        "defaults": {
            "brand_name": config.default_brand_name,
            "help_contact": config.default_help_contact,
            "webhook_url": config.default_webhook_url,
        },
    }
    RUN_FILE.write_text(json.dumps(announced))


def _lookups(args: argparse.Namespace) -> int:
    from optout.console.replica import add_console
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
            broker_url(config),
            data_dir,
            args.host,
            args.port,
            args.fetch_wait_ms,
            config.schema_registry_url or None,
            add_console,
        )
    )
    return 0
