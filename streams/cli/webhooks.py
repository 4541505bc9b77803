"""`optout webhooks replay`: send dead-lettered webhook deliveries again."""

from __future__ import annotations

import argparse
import asyncio
import sys

from optout.streams.cli.common import (
    broker_url,
    produce_many,
    registry,
)
from optout.streams.config import Config
from optout.streams.topics import DEAD_LETTER_TOPIC, WEBHOOK_TOPIC

__all__ = ["add_commands"]


def add_commands(commands: argparse._SubParsersAction) -> None:
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


def _webhooks_replay(args: argparse.Namespace) -> int:
    from datetime import datetime

    from optout.schemas import AvroSerde, DecodeError
    from optout.tables.client.topic_reader import read_records

    config = Config()
    bootstrap = broker_url(config)
    since_ms = int(datetime.fromisoformat(args.since).timestamp() * 1000) if args.since else 0
    dead_letters = AvroSerde("dead_letter", args.dlq, registry(config))
    webhooks = AvroSerde("webhook_event", WEBHOOK_TOPIC, registry(config))
    print(f"reading {args.dlq} ...", file=sys.stderr)
    chosen = []
    for record in asyncio.run(read_records(bootstrap, args.dlq)):
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
        asyncio.run(produce_many(bootstrap, WEBHOOK_TOPIC, [(k, v) for k, v, _ in chosen]))
    print(f"{'found' if args.dry_run else 'replayed'} {len(chosen)} webhook deliveries")
    return 0
