"""Revocations as people send them (issue 26): a STOP under a phone's signature line, and a
removal request without any keyword, each block, confirm and forward on the running worker."""

from __future__ import annotations

import pytest

from optout.streams.rules.keywords import RULESET_VERSION
from tests.support import (
    Stack,
    blocked,
    eventually,
    replies_to,
    settle_and_assert_once,
    webhooks_for,
)

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("message_id", "text", "rule"),
    [
        ("sig-stop-1", "STOP\n\nSent from my iPhone", "exact_keyword"),
        ("plain-removal-1", "please remove my number from your list", "revocation_request"),
    ],
    ids=["stop-with-a-signature", "keyword-free-removal"],
)
def test_a_revocation_as_people_write_it_blocks_confirms_and_forwards(
    stack: Stack, message_id: str, text: str, rule: str
) -> None:
    business = "+13125550161"
    user = "+16025550161" if message_id.startswith("sig") else "+16025550162"
    assert not blocked(stack, business, user)

    stack.inbound(message_id, user, business, text)

    eventually(lambda: blocked(stack, business, user), what="block")
    eventually(lambda: replies_to(stack, user), what="confirmation")
    settle_and_assert_once(stack, message_id)
    (reply,) = replies_to(stack, user)
    assert reply["from"] == business and "no more messages" in reply["text"]
    (webhook,) = webhooks_for(stack, message_id)
    assert webhook["text"] == text
    assist = webhook["opt_out_assist"]
    assert (assist["intent"], assist["rule"], assist["sender_blocked"]) == ("opt_out", rule, True)
    events = stack.read_topic("optout-events", "optout_event")
    (event,) = [e for e in events if e["message_id"] == message_id]
    assert (event["action"], event["rule"], event["ruleset"]) == ("OPT_OUT", rule, RULESET_VERSION)
