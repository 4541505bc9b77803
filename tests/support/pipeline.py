"""Asking a running stack what came out of it: replies, webhooks, blocks."""

from __future__ import annotations

import time

from tests.support.stack import Stack
from tests.support.waiting import eventually

SETTLE_SECONDS = 2.0  # after the last expected delivery, how long duplicates get to show up


def replies_to(stack: Stack, user: str) -> list[dict]:
    return [r.body for r in stack.carrier.received if r.body["to"] == user]


def webhooks_for(stack: Stack, message_id: str) -> list[dict]:
    received = stack.webhook_a.received + stack.webhook_b.received
    return [r.body for r in received if r.body["message_uuid"] == message_id]


def blocked(stack: Stack, number: str, sender: str) -> bool:
    status, answer = stack.lookup(number, sender)
    assert status == 200, answer
    return bool(answer["blocked"])


def settle_and_assert_once(stack: Stack, *message_ids: str) -> None:
    """Each message id reached the webhook receivers exactly once."""
    for message_id in message_ids:
        eventually(lambda m=message_id: webhooks_for(stack, m), what=f"webhook for {message_id}")
    time.sleep(SETTLE_SECONDS)
    for message_id in message_ids:
        assert len(webhooks_for(stack, message_id)) == 1, message_id
