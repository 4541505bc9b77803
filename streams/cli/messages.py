"""`optout inject` and `optout classify`: a message as a carrier sends it, and the classifier
alone."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid

from optout.streams.cli.common import (
    broker_url,
    produce,
    registry,
)
from optout.streams.config import Config
from optout.streams.topics import INBOUND_TOPIC

__all__ = ["add_commands"]


def add_commands(commands: argparse._SubParsersAction) -> None:
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

    classify = commands.add_parser(
        "classify",
        help="classify texts with the keyword policy (no broker needed)",
        description="Classify --text, or each line of standard input, and print one JSON object "
        "per text with intent, keyword, language, rule and review.",
    )
    classify.add_argument("--text", help="one text to classify (default: read lines from stdin)")
    classify.set_defaults(run=_classify)


def _inject(args: argparse.Namespace) -> int:
    from optout.schemas import AvroSerde

    config = Config()
    bootstrap = broker_url(config)
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
    value = AvroSerde("inbound_message", INBOUND_TOPIC, registry(config)).encode(message)
    asyncio.run(produce(bootstrap, INBOUND_TOPIC, args.from_number.encode(), value))
    print(json.dumps({"produced": INBOUND_TOPIC, "message_id": message["message_id"]}))
    return 0


def _classify(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from optout.streams.rules.keywords import classify_text

    texts = [args.text] if args.text is not None else (line.rstrip("\n") for line in sys.stdin)
    for text in texts:
        result = asdict(classify_text(text)) | {"text": text}
        result["intent"] = result["intent"].lower()
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0
