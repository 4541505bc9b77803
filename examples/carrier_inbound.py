"""A carrier hands one inbound SMS to Opt-Out Assist: an Avro InboundMessage on
`inbound-messages`, keyed by the sender, with nothing but the .avsc file and stock libraries.

    python examples/carrier_inbound.py 127.0.0.1:9092 +14155550100 +12125550100 STOP
"""

import asyncio
import json
import sys
import time
import uuid
from io import BytesIO
from pathlib import Path

import avro.schema
import fastavro
from aiokafka import AIOKafkaProducer

SCHEMA_TEXT = (Path(__file__).parents[1] / "schemas" / "inbound_message.avsc").read_text()
SCHEMA = fastavro.parse_schema(json.loads(SCHEMA_TEXT))
# Avro single-object encoding: C3 01, the schema's CRC-64-AVRO fingerprint, the body.
HEADER = b"\xc3\x01" + avro.schema.parse(SCHEMA_TEXT).fingerprint("CRC-64-AVRO")


def encode(message: dict) -> bytes:
    body = BytesIO()
    fastavro.schemaless_writer(body, SCHEMA, message)
    return HEADER + body.getvalue()


async def send(bootstrap: str, sender: str, business_number: str, text: str) -> str:
    message = {
        "message_id": str(uuid.uuid4()),
        "channel": "SMS",
        "from_number": sender,
        "to_number": business_number,
        "text": text,
        "media_urls": [],
        "received_at": int(time.time() * 1000),
        "carrier": "example-carrier",
    }
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        # Keyed by the sender: every message of one end user is handled in order.
        await producer.send_and_wait("inbound-messages", encode(message), key=sender.encode())
    finally:
        await producer.stop()
    return message["message_id"]


if __name__ == "__main__":
    print(asyncio.run(send(*sys.argv[1:5])))
