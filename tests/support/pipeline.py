"""Asking a running stack what came out of it: replies, webhooks, blocks, consent events; and
configuring its numbers."""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from typing import Any

from optout.schemas import Record
from optout.streams.rules.decide import decide
from optout.streams.rules.number_settings import default_settings
from tests.support.stack import ADMIN_TOKEN, Stack
from tests.support.waiting import eventually

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}

SETTLE_SECONDS = 2.0  # after the last expected delivery, how long duplicates get to show up


KEYWORD_TEXTS = ["STOP", "START", "HELP", "hello there", "see you at 5"]
KEYWORD_WEIGHTS = [15, 15, 5, 45, 20]


def keyword_traffic(
    prefix: str, users: list[str], businesses: list[str], count: int, seed: int
) -> list[Record]:
    """`count` inbound messages between `users` and `businesses`, many STOP and START per pair,
    with ids `prefix-n`."""
    rng = random.Random(seed)
    texts, weights = KEYWORD_TEXTS, KEYWORD_WEIGHTS
    return [
        {"message_id": f"{prefix}-{n}", "channel": "SMS", "from_number": rng.choice(users),
         "to_number": rng.choice(businesses), "text": rng.choices(texts, weights)[0],
         "media_urls": [], "received_at": 0, "carrier": prefix}
        for n in range(count)
    ]  # fmt: skip


def final_blocks(inbound: list[Record]) -> dict[tuple[str, str], bool]:
    """Per (business, end user) pair, whether it ends blocked: the input decided in order."""
    entries: dict[tuple[str, str], Record | None] = defaultdict(lambda: None)
    for message in inbound:
        pair = (message["to_number"], message["from_number"])
        settings = default_settings(pair[0], "Acme", "help@acme.test")
        entry = entries[pair]
        entries[pair] = decide(message, settings, lambda _, e=entry: e, 0).entry
    return {pair: bool(e and e["blocked"]) for pair, e in entries.items()}


def doubled(stack: Stack) -> dict[str, dict[str, int]]:
    """Per topic classify writes, the ids on it more than once and how often, as a consumer
    reading committed records sees them (each topic must hold something)."""
    webhooks = stack.read_topic("customer-webhook", "webhook_event")
    replies = stack.read_topic("outbound-replies", "outbound_reply")
    events = stack.read_topic("optout-events", "optout_event")
    ids = {
        "customer-webhook": [w["message"]["message_id"] for w in webhooks],
        "outbound-replies": [r["reply_id"] for r in replies],
        "optout-events": [e["event_id"] for e in events],
    }
    assert all(ids.values()), {topic: len(found) for topic, found in ids.items()}
    return {topic: {i: n for i, n in Counter(v).items() if n > 1} for topic, v in ids.items()}


def replies_to(stack: Stack, user: str) -> list[dict]:
    return [r.body for r in stack.carrier.received if r.body["to"] == user]


def webhooks_for(stack: Stack, message_id: str) -> list[dict]:
    received = stack.webhook_a.received + stack.webhook_b.received
    return [r.body for r in received if r.body["message_uuid"] == message_id]


def blocked(stack: Stack, number: str, sender: str) -> bool:
    """Whether the worker answers "blocked", once it answers: a 503 ("try again": its copy may
    be behind, as right after it took a partition over) is waited out, never read as either."""

    def answered() -> tuple[int, dict] | None:
        status, answer = stack.lookup(number, sender)
        return None if status == 503 else (status, answer)

    status, answer = eventually(answered, what=f"an answer for {number} and {sender}")
    assert status == 200, answer
    return bool(answer["blocked"])


def settle_and_assert_once(stack: Stack, *message_ids: str) -> None:
    """Each message id reached the webhook receivers exactly once."""
    for message_id in message_ids:
        eventually(lambda m=message_id: webhooks_for(stack, m), what=f"webhook for {message_id}")
    time.sleep(SETTLE_SECONDS)
    for message_id in message_ids:
        assert len(webhooks_for(stack, message_id)) == 1, message_id


def events_for(stack: Stack, user: str) -> list[dict]:
    """The opt-out events of an end user so far."""
    return [
        e for e in stack.read_topic("optout-events", "optout_event") if e["end_user_number"] == user
    ]


def send_results_for(stack: Stack, user: str) -> list[dict]:
    """The send results of sends to an end user so far."""
    return [r for r in stack.read_topic("send-results", "send_result") if r["to_number"] == user]


def configure(stack: Stack, number: str, **changes: Any) -> dict:
    """Change a number's settings through the HTTP API; wait until the worker follows them."""
    status, answer = stack.http("PUT", f"/v1/numbers/{number}", changes, AUTH)
    assert status == 200, answer
    stored = answer["settings"]
    eventually(
        lambda: (
            stack.http("GET", f"/v1/numbers/{number}")[1]["settings"]["scope"] == stored["scope"]
        ),
        what=f"the worker to follow the settings of {number}",
    )
    return stored
