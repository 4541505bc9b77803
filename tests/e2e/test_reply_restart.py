"""A reply worker killed between sending replies and committing its offsets sends none twice."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from optout.schemas import AvroSerde
from tests.support import Stack, eventually

pytestmark = pytest.mark.e2e
REPLIES = 30


@pytest.fixture
def reply_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Offsets are committed only every 10 minutes: a kill always lands before the commit.
    with Stack(
        tmp_path_factory.mktemp("reply-stack"),
        agents="reply",
        OPTOUT_COMMIT_INTERVAL_SECONDS="600",
    ) as running:
        yield running


def reply(n: int) -> bytes:
    return AvroSerde("outbound_reply", "outbound-replies").encode(
        {
            "reply_id": f"r-{n}:reply",
            "in_reply_to": f"r-{n}",
            "channel": "SMS",
            "from_number": "+13125550100",
            "to_number": f"+120555501{n:02d}",
            "text": "Acme: You are unsubscribed.",
            "intent": "OPT_OUT",
            "language": "en",
            "received_at": int(time.time() * 1000),
            "created_at": int(time.time() * 1000),
        }
    )


def test_each_reply_reaches_the_carrier_once_across_a_kill(reply_stack: Stack) -> None:
    stack = reply_stack
    for n in range(REPLIES):
        stack.produce("outbound-replies", reply(n), key=f"+13125550100|{n}".encode())
    eventually(lambda: len(stack.carrier.received) >= REPLIES, what="every reply sent")
    time.sleep(3)  # the sent-replies changelog is written; the offsets are not committed

    stack.kill_worker()
    stack.start_worker()
    eventually(
        lambda: stack.worker_log_text().count("not sent again") >= REPLIES,
        timeout=60,
        what="the restarted worker to see every reply again",
    )
    keys = Counter(r.headers["Idempotency-Key"] for r in stack.carrier.received)
    assert len(keys) == REPLIES and set(keys.values()) == {1}, keys.most_common(3)
