"""`optout webhooks replay` and `optout sends replay`: deliveries that were dead-lettered, put
back on their topic once the cause is fixed."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

from optout.streams.cli.common import (
    broker_url,
    e164,
    produce_many,
    registry,
)
from optout.streams.config import Config
from optout.streams.topics import CARRIER_SENDS_TOPIC, DEAD_LETTER_TOPIC, WEBHOOK_TOPIC

__all__ = ["add_commands"]


def add_commands(commands: argparse._SubParsersAction) -> None:
    for group, helptext, description, run in (
        ("webhooks", "webhook deliveries",
         "Put webhook deliveries that were dead-lettered back on customer-webhook, once the "
         "customer has fixed their endpoint. Each goes to the number's current webhook URL "
         "with its original Idempotency-Key.", _webhooks_replay),
        ("sends", "sends the gate let through",
         "Put sends whose carrier delivery was dead-lettered back on carrier-sends, once the "
         "carrier answers again. Each is checked against the block list again and sent with "
         "its original Idempotency-Key.", _sends_replay),
    ):  # fmt: skip
        parser = commands.add_parser(group, help=helptext)
        actions = parser.add_subparsers(required=True, metavar="ACTION")
        replay = actions.add_parser(
            "replay", help=f"deliver dead-lettered {group} again", description=description
        )
        replay.add_argument("--dlq", default=DEAD_LETTER_TOPIC, help="dead-letter topic to read")
        replay.add_argument("--number", type=e164, help="only deliveries to or from this number")
        replay.add_argument("--since", help="only dead-lettered at or after this ISO 8601 time")
        replay.add_argument("--dry-run", action="store_true", help="list, do not send")
        replay.set_defaults(run=run)


def _webhooks_replay(args: argparse.Namespace) -> int:
    return _replay(args, WEBHOOK_TOPIC, "webhook_event", lambda r: r["message"], "webhook")


def _sends_replay(args: argparse.Namespace) -> int:
    return _replay(args, CARRIER_SENDS_TOPIC, "outbound_message", lambda r: r, "send")


def _replay(
    args: argparse.Namespace,
    topic: str,
    contract: str,
    message_of: Callable[[dict], dict],
    what: str,
) -> int:
    """Dead letters from `topic` (their records of `contract`) back onto it."""
    from datetime import datetime

    from optout.schemas import AvroSerde, DecodeError
    from optout.tables.client.topic_reader import read_records

    config = Config()
    bootstrap = broker_url(config)
    since_ms = int(datetime.fromisoformat(args.since).timestamp() * 1000) if args.since else 0
    dead_letters = AvroSerde("dead_letter", args.dlq, registry(config))
    records = AvroSerde(contract, topic, registry(config))
    print(f"reading {args.dlq} ...", file=sys.stderr)
    chosen = []
    for record in asyncio.run(read_records(bootstrap, args.dlq)):
        try:
            dead = dead_letters.decode(record.value)
            if dead["source_topic"] != topic or dead["failed_at"] < since_ms:
                continue
            message = message_of(records.decode(dead["value"]))
        except DecodeError:
            continue
        numbers = (message["to_number"], message["from_number"])
        if args.number and args.number not in numbers:
            continue
        chosen.append((dead["key"], dead["value"], message["message_id"]))
    for done, (_, _, message_id) in enumerate(chosen, start=1):
        print(f"[{done}/{len(chosen)}] {'would replay' if args.dry_run else 'replay'} {message_id}")
    if not args.dry_run:
        asyncio.run(produce_many(bootstrap, topic, [(k, v) for k, v, _ in chosen]))
    print(f"{'found' if args.dry_run else 'replayed'} {len(chosen)} {what} deliveries")
    return 0
