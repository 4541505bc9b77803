"""A gate worker killed between sending and committing its offsets loses no send and sends none
twice; sends made while it is down are gated when it is back."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from optout.schemas import AvroSerde
from tests.support import Stack, eventually

pytestmark = pytest.mark.e2e
SENDS = 30


@pytest.fixture
def gate_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Offsets are committed only every 10 minutes: a kill always lands before the commit.
    with Stack(
        tmp_path_factory.mktemp("gate-stack"),
        agents="classify,send",
        OPTOUT_COMMIT_INTERVAL_SECONDS="600",
    ) as running:
        yield running


def produce_sends(stack: Stack, numbers: range) -> None:
    serde = AvroSerde("outbound_message", "outbound-messages")
    for n in numbers:
        user = f"+120655501{n:02d}"
        send = {
            "message_id": f"g-{n}", "channel": "SMS", "from_number": "+18335550100",
            "to_number": user, "text": "Your order shipped", "media_urls": [],
            "reference": None, "category": None, "requested_at": int(time.time() * 1000),
        }  # fmt: skip
        stack.produce("outbound-messages", serde.encode(send), key=user.encode())


def test_each_send_reaches_the_carrier_once_across_a_kill(gate_stack: Stack) -> None:
    stack = gate_stack
    produce_sends(stack, range(SENDS))
    eventually(lambda: len(stack.carrier.received) >= SENDS, what="every send delivered")
    time.sleep(3)  # the sent-sends changelog is written; the offsets are not committed

    stack.kill_worker()
    produce_sends(stack, range(SENDS, 2 * SENDS))  # while the worker is down
    stack.start_worker()
    eventually(
        lambda: stack.worker_log_text().count("not sent again") >= SENDS,
        timeout=60,
        what="the restarted worker to see every earlier send again",
    )
    eventually(lambda: len(stack.carrier.received) >= 2 * SENDS, what="the later sends")
    time.sleep(1)
    keys = Counter(r.headers["Idempotency-Key"] for r in stack.carrier.received)
    assert len(keys) == 2 * SENDS and set(keys.values()) == {1}, keys.most_common(3)
    results = stack.read_topic("send-results", "send_result")
    assert {r["message_id"] for r in results if r["status"] == "SENT"} == set(keys)
