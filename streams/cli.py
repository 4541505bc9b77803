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
from pathlib import Path

from optout.streams.config import AGENT_MODULES, INBOUND_TOPIC, Config

RUN_FILE = Path(os.environ.get("OPTOUT_HOME", Path.home() / ".optout")) / "up.json"
DEFAULT_EMBEDDED_PORT = 9092
CARRIER_STAND_IN_PORT = int(os.environ.get("OPTOUT_UP_CARRIER_PORT", "6070"))
WEBHOOK_STAND_IN_PORT = int(os.environ.get("OPTOUT_UP_WEBHOOK_PORT", "6071"))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(args.run(args) or 0)


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
    return parser


def _up(args: argparse.Namespace) -> int:
    from optout.streams.standins import StandIn, StandInsService

    stand_ins = [
        StandIn("carrier API stand-in", CARRIER_STAND_IN_PORT, status=202),
        StandIn("webhook receiver", WEBHOOK_STAND_IN_PORT),
    ]
    os.environ.setdefault("OPTOUT_CARRIER_API_URL", f"{stand_ins[0].url}/v1/messages")
    os.environ.setdefault("OPTOUT_DEFAULT_WEBHOOK_URL", f"{stand_ins[1].url}/webhooks/inbound")
    os.environ.setdefault("OPTOUT_DEFAULT_BRAND", "Demo Brand")
    os.environ.setdefault("OPTOUT_DEFAULT_HELP_CONTACT", "help@example.com")
    os.environ.pop("OPTOUT_BROKER_URL", None)  # `up` always runs on its own embedded broker
    return _run_worker(tuple(AGENT_MODULES), StandInsService(stand_ins), announce=True)


def _worker(args: argparse.Namespace) -> int:
    agents = tuple(a.strip() for a in args.agents.split(",") if a.strip())
    unknown = sorted(set(agents) - set(AGENT_MODULES))
    if unknown or not agents:
        print(
            f"optout worker: unknown agents {unknown}; choose from {', '.join(AGENT_MODULES)}",
            file=sys.stderr,
        )
        return 2
    return _run_worker(agents)


def _run_worker(agents: tuple[str, ...], *services: object, announce: bool = False) -> int:
    from optout.streams.broker import BrokerUnavailable, EmbeddedBroker, ensure_topics

    os.environ["OPTOUT_AGENTS"] = ",".join(agents)
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
        # The embedded broker starts empty: table state from an earlier run must not be reused.
        os.environ["OPTOUT_DATA_DIR"] = tempfile.mkdtemp(prefix="optout-data-")
    config = Config()
    try:
        asyncio.run(ensure_topics(config.broker_url, config.partitions, config.replication_factor))
        if announce:
            _write_run_file(config)
        return _run_faust_worker(config, services)
    except BrokerUnavailable as exc:
        print(f"optout: {exc}", file=sys.stderr)
        return 1
    finally:
        if announce:
            RUN_FILE.unlink(missing_ok=True)
        if broker is not None:
            broker.stop()


def _run_faust_worker(config: Config, services: tuple[object, ...]) -> int:
    import faust

    from optout.streams.app import app

    for agent in config.agents:
        for module in AGENT_MODULES[agent]:
            importlib.import_module(module)
    importlib.import_module("optout.streams.health")
    worker = faust.Worker(app, *services, loglevel=config.log_level)  # type: ignore[arg-type]
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


def _inject(args: argparse.Namespace) -> int:
    from optout.schemas import AvroSerde
    from optout.schemas.registry import SchemaRegistry

    config = Config()
    broker_url = config.broker_url or _running_up().get("broker_url")
    if not broker_url:
        print(
            "optout inject: no broker: start `optout up` or set OPTOUT_BROKER_URL", file=sys.stderr
        )
        return 1
    registry = SchemaRegistry(config.schema_registry_url) if config.schema_registry_url else None
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
    value = AvroSerde("inbound_message", INBOUND_TOPIC, registry).encode(message)
    asyncio.run(_produce(broker_url, INBOUND_TOPIC, args.from_number.encode(), value))
    print(json.dumps({"produced": INBOUND_TOPIC, "message_id": message["message_id"]}))
    return 0


async def _produce(broker_url: str, topic: str, key: bytes, value: bytes) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=broker_url, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


def _blocklist_check(args: argparse.Namespace) -> int:
    web_url = os.environ.get("OPTOUT_WEB_URL") or _running_up().get("web_url")
    web_url = web_url or f"http://127.0.0.1:{os.environ.get('OPTOUT_WEB_PORT', '6066')}"
    path = "/v1/blocklist/{}/{}".format(
        *(urllib.parse.quote(n) for n in (args.number, args.sender))
    )
    try:
        with urllib.request.urlopen(web_url + path, timeout=10) as response:
            print(json.dumps(json.loads(response.read()), indent=2))
            return 0
    except urllib.error.HTTPError as exc:
        print(f"optout blocklist check: {exc.code}: {exc.read().decode()}", file=sys.stderr)
    except OSError as exc:
        print(
            f"optout blocklist check: cannot reach {web_url} ({exc}); is `optout up` running?",
            file=sys.stderr,
        )
    return 1


if __name__ == "__main__":
    sys.exit(main())
