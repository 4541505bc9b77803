"""`optout inject`, `optout send` and `optout classify`: a message as a carrier sends it, a
send through the gate as a send service asks for it, and the classifier alone."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from typing import TYPE_CHECKING, Any

from optout.streams.cli.common import (
    broker_url,
    e164,
    produce,
    registry,
)
from optout.streams.config import Config
from optout.streams.topics import INBOUND_TOPIC, OUTBOUND_TOPIC, SEND_RESULTS_TOPIC, partitions_of

if TYPE_CHECKING:
    from optout.streams.rules.keywords import Classification

__all__ = ["add_commands"]


def add_commands(commands: argparse._SubParsersAction) -> None:
    inject = commands.add_parser(
        "inject",
        help="produce one inbound message, as a carrier would",
        description="Produce one InboundMessage to inbound-messages. Finds a running "
        "`optout up` by itself; OPTOUT_BROKER_URL overrides.",
    )
    inject.add_argument(
        "--from", dest="from_number", type=e164, required=True, help="end user, E.164"
    )
    inject.add_argument(
        "--to", dest="to_number", type=e164, required=True, help="business number, E.164"
    )
    inject.add_argument("--text", default="", help="message text")
    inject.add_argument("--mms", action="append", default=[], metavar="URL", help="media URL")
    inject.add_argument("--message-id", help="carrier message id (default: a new UUID)")
    inject.add_argument("--carrier", help="carrier name")
    inject.set_defaults(run=_inject)

    send = commands.add_parser(
        "send",
        help="send a message through the gate, as a send service would",
        description="Produce one OutboundMessage to outbound-messages. The gate rejects it if "
        "the end user opted out of the number's consent scope, holds it for the brand's quiet "
        "hours, or hands it to the carrier. With --wait, prints its result from send-results "
        "(status SENT, REJECTED with the reason, or FAILED).",
    )
    send.add_argument(
        "--from", dest="from_number", type=e164, required=True, help="business number, E.164"
    )
    send.add_argument("--to", dest="to_number", type=e164, required=True, help="end user, E.164")
    send.add_argument("--text", default="", help="message text")
    send.add_argument("--mms", action="append", default=[], metavar="URL", help="media URL")
    send.add_argument("--message-id", help="the send's id (default: a new UUID)")
    send.add_argument("--reference", help="your own reference, returned with the result")
    send.add_argument(
        "--kind",
        help="the send's kind of message (its category), e.g. marketing or informational; "
        "default: the brand's default kind, else marketing. A STOP blocks a kind unless it "
        "answered a marketing send of a kind-aware brand (see optout brands set --help)",
    )
    send.add_argument("--wait", action="store_true", help="wait for the result and print it")
    send.add_argument("--timeout", type=float, default=30.0, help="seconds --wait waits")
    send.set_defaults(run=_send)

    classify = commands.add_parser(
        "classify",
        help="classify texts with the keyword policy (no broker needed)",
        description="Classify --text, or each line of standard input, and print one JSON object "
        "per text with intent, keyword, language, rule, review, the part of the text that "
        "decided it (matched), what was cut from around the request (stripped) and the ruleset.",
    )
    classify.add_argument("--text", help="one text to classify (default: read lines from stdin)")
    classify.add_argument(
        "--explain",
        action="store_true",
        help="print, for people, the rule, the part of the text that decided it and what was "
        "stripped (signatures, greetings, names) instead of JSON",
    )
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


def _send(args: argparse.Namespace) -> int:
    from optout.schemas import AvroSerde
    from optout.streams.rules.validate import message_problems

    config = Config()
    bootstrap = broker_url(config)
    send = {
        "message_id": args.message_id or str(uuid.uuid4()),
        "channel": "MMS" if args.mms else "SMS",
        "from_number": args.from_number,
        "to_number": args.to_number,
        "text": args.text,
        "media_urls": args.mms,
        "reference": args.reference,
        "category": args.kind,
        "requested_at": int(time.time() * 1000),
    }
    problems = message_problems(send)
    if problems:
        print(f"optout send: refused: {'; '.join(problems)}", file=sys.stderr)
        return 2
    value = AvroSerde("outbound_message", OUTBOUND_TOPIC, registry(config)).encode(send)
    asyncio.run(produce(bootstrap, OUTBOUND_TOPIC, args.to_number.encode(), value))
    if not args.wait:
        print(json.dumps({"produced": OUTBOUND_TOPIC, "message_id": send["message_id"]}))
        return 0
    serde = AvroSerde("send_result", SEND_RESULTS_TOPIC, registry(config))
    try:
        result = asyncio.run(_result_of(bootstrap, send, serde.decode, args.timeout))
    except TimeoutError:
        print(
            f"optout send: no result for {send['message_id']} within {args.timeout:.0f}s "
            "(is a worker running the classify agents? a send held for quiet hours has none "
            "until they open)",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(result, indent=2))
    return 0


async def _result_of(bootstrap: str, send: dict, decode: Any, timeout: float) -> dict:
    """The send's result: read from the start of the end user's partition of send-results."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from optout.streams.rules.partitioning import end_user_partition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        partitions = await partitions_of(bootstrap, SEND_RESULTS_TOPIC)
        partition = end_user_partition(send["to_number"], len(partitions) or 1)
        consumer.assign([TopicPartition(SEND_RESULTS_TOPIC, partition)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    result = decode(record.value)
                    if result["message_id"] == send["message_id"]:
                        return result
        raise TimeoutError
    finally:
        await consumer.stop()


def _classify(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from optout.streams.rules.keywords import RULESET_VERSION, classify_text

    texts = [args.text] if args.text is not None else (line.rstrip("\n") for line in sys.stdin)
    for text in texts:
        result = classify_text(text)
        if args.explain:
            print(_explain(text, result, RULESET_VERSION), flush=True)
            continue
        figures = asdict(result) | {"text": text, "ruleset": RULESET_VERSION}
        figures["intent"] = figures["intent"].lower()
        print(json.dumps(figures, ensure_ascii=False), flush=True)
    return 0


def _explain(text: str, result: Classification, ruleset: str) -> str:
    """The reading of one text, for people: rule, deciding part, what was stripped."""
    stripped = "; ".join(repr(part) for part in result.stripped) or "nothing"
    lines = [
        f"text:        {text!r}",
        f"intent:      {result.intent.value.lower()}"
        + (" (forwarded for review)" if result.review else "")
        + (f", keyword {result.keyword}, language {result.language}" if result.keyword else ""),
        f"rule:        {result.rule} (ruleset {ruleset})",
        f"decided by:  {result.matched or 'no rule matched'}",
        f"stripped:    {stripped}",
    ]
    return "\n".join(lines) + "\n"
