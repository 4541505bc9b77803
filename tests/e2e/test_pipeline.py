"""The whole flow on the embedded broker, a real worker process and real HTTP receivers."""

from __future__ import annotations

import time
import urllib.request
from collections import defaultdict

import pytest

from optout.schemas import AvroSerde
from tests.support import (
    Stack,
    blocked,
    eventually,
    replies_to,
    settle_and_assert_once,
    webhooks_for,
)

pytestmark = pytest.mark.e2e


def test_stop_blocks_the_pair_and_sends_one_confirmation(stack: Stack) -> None:
    business, user = "+13125550101", "+16025550101"
    assert not blocked(stack, business, user)

    stack.inbound("stop-1", user, business, "STOP")

    eventually(lambda: blocked(stack, business, user), what="block")
    eventually(lambda: replies_to(stack, user), what="confirmation")
    settle_and_assert_once(stack, "stop-1")
    (reply,) = replies_to(stack, user)
    assert reply["from"] == business
    assert "Acme" in reply["text"] and "no more messages" in reply["text"]
    webhook = webhooks_for(stack, "stop-1")[0]
    assert webhook["text"] == "STOP"
    assert webhook["opt_out_assist"]["intent"] == "opt_out"
    assert webhook["opt_out_assist"]["sender_blocked"] is True
    (carrier_request,) = [r for r in stack.carrier.received if r.body["to"] == user]
    assert carrier_request.headers["Idempotency-Key"] == "stop-1:reply"
    events = [
        e for e in stack.read_topic("optout-events", "optout_event") if e["message_id"] == "stop-1"
    ]
    assert [(e["action"], e["business_number"], e["end_user_number"]) for e in events] == [
        ("OPT_OUT", business, user)
    ]
    _, answer = stack.lookup(business, user)
    assert answer["keyword"] == "STOP" and answer["since"] is not None


def test_start_unblocks_and_replies(stack: Stack) -> None:
    business, user = "+13125550102", "+16025550102"
    stack.inbound("start-1", user, business, "STOP")
    stack.inbound("start-2", user, business, "START")

    settle_and_assert_once(stack, "start-1", "start-2")
    assert not blocked(stack, business, user)
    texts = [r["text"] for r in replies_to(stack, user)]
    assert len(texts) == 2
    assert "unsubscribed" in texts[0] and "resubscribed" in texts[1]
    actions = [
        e["action"]
        for e in stack.read_topic("optout-events", "optout_event")
        if e["end_user_number"] == user
    ]
    assert actions == ["OPT_OUT", "OPT_IN"]


def test_help_replies_and_leaves_the_block_alone(stack: Stack) -> None:
    business, user = "+13125550103", "+16025550103"
    stack.inbound("help-1", user, business, "HELP")
    settle_and_assert_once(stack, "help-1")
    assert not blocked(stack, business, user)

    stack.inbound("help-2", user, business, "STOP")
    stack.inbound("help-3", user, business, "help")
    settle_and_assert_once(stack, "help-2", "help-3")
    assert blocked(stack, business, user)

    texts = [r["text"] for r in replies_to(stack, user)]
    assert len(texts) == 3
    for help_reply in (texts[0], texts[2]):
        assert "Msg&data rates may apply" in help_reply and "help@acme.test" in help_reply


def test_ordinary_text_only_reaches_the_webhook(stack: Stack) -> None:
    business, user = "+13125550104", "+16025550104"
    stack.inbound("plain-1", user, business, "Is the store open on Sunday?")

    settle_and_assert_once(stack, "plain-1")
    assert replies_to(stack, user) == []
    assert not blocked(stack, business, user)
    assert webhooks_for(stack, "plain-1")[0]["opt_out_assist"]["intent"] == "none"
    assert all(
        e["end_user_number"] != user for e in stack.read_topic("optout-events", "optout_event")
    )


def test_a_redelivered_message_is_processed_once(stack: Stack) -> None:
    business, user = "+13125550105", "+16025550105"
    stack.inbound("dup-1", user, business, "STOP")
    stack.inbound("dup-1", user, business, "STOP")
    stack.inbound("dup-2", user, business, "thanks")

    settle_and_assert_once(stack, "dup-1", "dup-2")
    assert len(replies_to(stack, user)) == 1
    events = [
        e for e in stack.read_topic("optout-events", "optout_event") if e["message_id"] == "dup-1"
    ]
    assert len(events) == 1


def test_stop_to_one_number_does_not_block_the_sender_for_another(stack: Stack) -> None:
    number_a, number_b, user = "+13125550106", "+13125550107", "+16025550106"
    stack.inbound("pair-1", user, number_a, "STOP")
    eventually(lambda: blocked(stack, number_a, user), what="block on A")
    assert not blocked(stack, number_b, user)


def test_malformed_records_are_dead_lettered_and_processing_goes_on(stack: Stack) -> None:
    garbage = b"\x00\x01not avro at all"
    stack.produce("inbound-messages", garbage, key=b"junk")
    stack.inbound("bad-number", "12345", "+13125550108", "STOP")
    stack.inbound("after-bad", "+16025550108", "+13125550108", "hello")

    settle_and_assert_once(stack, "after-bad")
    dead = stack.read_topic("dead-letters", "dead_letter")
    by_value = {d["value"]: d for d in dead}
    assert garbage in by_value
    assert by_value[garbage]["source_topic"] == "inbound-messages"
    assert "schema registry" in by_value[garbage]["reason"]
    invalid = [d for d in dead if "from_number '12345'" in d["reason"]]
    assert len(invalid) == 1 and "E.164" in invalid[0]["reason"]
    assert webhooks_for(stack, "bad-number") == []


def test_settings_choose_the_webhook_and_the_brand(stack: Stack) -> None:
    business, user = "+13125550109", "+16025550109"
    settings = {
        "number": business,
        "enabled": True,
        "brand_name": "Zeta Shoes",
        "help_contact": "1-800-555-0199",
        "webhook_url": f"{stack.webhook_b.url}/zeta",
        "updated_at": int(time.time() * 1000),
    }
    value = AvroSerde("number_settings", "number-settings").encode(settings)
    stack.produce("number-settings", value, key=business.encode())
    time.sleep(2)  # the worker follows the settings topic continuously

    stack.inbound("zeta-1", user, business, "HELP")
    settle_and_assert_once(stack, "zeta-1")
    assert [r.path for r in stack.webhook_b.received if r.body["message_uuid"] == "zeta-1"] == [
        "/zeta"
    ]
    (reply,) = replies_to(stack, user)
    assert reply["text"].startswith("Zeta Shoes:") and "1-800-555-0199" in reply["text"]


def test_mms_is_forwarded_with_its_media(stack: Stack) -> None:
    business, user = "+13125550110", "+16025550110"
    media = "https://media.example.test/cat.jpg"
    stack.inbound("mms-1", user, business, "", channel="MMS", media_urls=[media])
    settle_and_assert_once(stack, "mms-1")
    webhook = webhooks_for(stack, "mms-1")[0]
    assert webhook["channel"] == "mms" and webhook["image"] == {"url": media}


def test_an_mms_whose_text_is_stop_is_blocked_confirmed_and_forwarded_with_its_media(
    stack: Stack,
) -> None:
    business, user = "+13055550111", "+12065550111"
    media = "https://media.example.test/stop-sign.jpg"
    stack.inbound("mms-stop-1", user, business, "STOP", channel="MMS", media_urls=[media])
    settle_and_assert_once(stack, "mms-stop-1")
    assert blocked(stack, business, user)
    (reply,) = replies_to(stack, user)
    assert "unsubscribed" in reply["text"]
    webhook = webhooks_for(stack, "mms-stop-1")[0]
    assert webhook["image"] == {"url": media} and webhook["opt_out_assist"]["intent"] == "opt_out"


def test_numbers_outside_nanp_are_only_forwarded(stack: Stack) -> None:
    business, user = "+447700900123", "+447700900456"
    stack.inbound("uk-1", user, business, "STOP")
    settle_and_assert_once(stack, "uk-1")
    assert replies_to(stack, user) == []
    assert not blocked(stack, business, user)


def test_lookup_rejects_malformed_numbers_with_a_reason(stack: Stack) -> None:
    status, answer = stack.lookup("5551234", "+16025550101")
    assert status == 400
    assert "5551234" in answer["error"] and "E.164" in answer["error"]


def test_each_message_is_delivered_under_one_idempotency_key(stack: Stack) -> None:
    """Retries and replays repeat a delivery, always under its message id, so a receiver that
    deduplicates by Idempotency-Key accepts each message exactly once."""
    stack.inbound("distinct-1", "+16025550111", "+13125550111", "hi")
    settle_and_assert_once(stack, "distinct-1")
    keys_by_message: dict[str, set[str]] = defaultdict(set)
    for request in stack.webhook_a.received + stack.webhook_b.received:
        keys_by_message[request.body["message_uuid"]].add(request.headers["Idempotency-Key"])
    assert "distinct-1" in keys_by_message
    assert all(keys == {message} for message, keys in keys_by_message.items()), keys_by_message


def test_metrics_count_messages_and_time_the_compliance_clock(stack: Stack) -> None:
    stack.inbound("metrics-1", "+16025550112", "+13125550112", "STOP")
    settle_and_assert_once(stack, "metrics-1")
    eventually(lambda: replies_to(stack, "+16025550112"), what="the confirmation")
    with urllib.request.urlopen(f"{stack.web_url}/metrics", timeout=10) as reply:
        metrics = reply.read().decode()
    assert 'optout_messages_total{intent="OPT_OUT",rule="exact_keyword"}' in metrics
    assert 'optout_reply_after_inbound_seconds_count{intent="OPT_OUT"}' in metrics
    assert "optout_delivery_attempts_total" in metrics
    assert 'optout_consumer_lag{partition="0",topic="inbound-messages"}' in metrics

    def blocked_pairs_gauge() -> float:
        with urllib.request.urlopen(f"{stack.web_url}/metrics", timeout=10) as reply:
            lines = reply.read().decode().splitlines()
        (line,) = [x for x in lines if x.startswith("optout_blocklist_blocked_pairs ")]
        return float(line.split()[1])

    before = blocked_pairs_gauge()
    stack.inbound("metrics-2", "+16025550113", "+13125550112", "STOP")
    eventually(lambda: blocked_pairs_gauge() == before + 1, what="the block-list size to grow")
    with urllib.request.urlopen(f"{stack.web_url}/readyz", timeout=10) as reply:
        assert reply.status == 200
