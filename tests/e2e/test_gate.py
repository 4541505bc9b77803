"""The send gate through the running service: no send to an opted-out end user reaches the
carrier stand-in; an allowed one reaches it once; every send gets its result."""

from __future__ import annotations

import time

import pytest

from optout.schemas import AvroSerde
from optout.streams.embedded.standins import Scripted
from tests.support import (
    AUTH,
    Stack,
    blocked,
    configure,
    eventually,
    send_results_for,
    settle_and_assert_once,
)

pytestmark = pytest.mark.e2e


def send(stack: Stack, sender: str, user: str, text: str, message_id: str) -> None:
    body = {"from": sender, "to": user, "text": text, "message_id": message_id, "reference": "r"}
    status, answer = stack.http("POST", "/v1/messages", body, AUTH)
    assert status == 202 and answer["accepted"] == message_id, answer


def result_of(stack: Stack, user: str, message_id: str) -> dict:
    """The one result of a send (each read of the topic takes a while: read once it is there)."""
    results = eventually(
        lambda: [r for r in send_results_for(stack, user) if r["message_id"] == message_id],
        what=f"the result of {message_id}",
    )
    assert len(results) == 1, results
    return results[0]


def carrier_got(stack: Stack, message_id: str) -> int:
    return sum(1 for r in stack.carrier.received if r.body.get("client_ref") == message_id)


def test_a_send_to_a_blocked_user_is_rejected_with_the_reason_and_never_reaches_the_carrier(
    stack: Stack,
) -> None:
    number, user = "+18005550111", "+12095550111"
    stack.inbound("gate-stop-1", user, number, "STOP")
    eventually(lambda: blocked(stack, number, user), what="the block")
    send(stack, number, user, "Sale!", "gate-send-1")
    result = result_of(stack, user, "gate-send-1")
    assert result["status"] == "REJECTED" and result["scope"] == f"number:{number}"
    assert result["blocked_by"] == "gate-stop-1" and result["reference"] == "r"
    assert f"{user} opted out of number:{number}: STOP to {number}" in result["reason"]
    settle_and_assert_once(stack, "gate-stop-1")
    assert carrier_got(stack, "gate-send-1") == 0


def test_a_send_rejected_once_is_rejected_again_when_it_comes_again_after_a_start(
    stack: Stack,
) -> None:
    """A send read again (its worker died after publishing the result, before committing the
    send) gets its first answer, although the end user texted START in between."""
    number, user = "+18005550112", "+12095550112"
    stack.inbound("gate-stop-12", user, number, "STOP")
    eventually(lambda: blocked(stack, number, user), what="the block")
    send(stack, number, user, "Sale!", "gate-send-12")
    assert result_of(stack, user, "gate-send-12")["status"] == "REJECTED"
    stack.inbound("gate-start-12", user, number, "START")
    eventually(lambda: not blocked(stack, number, user), what="the START")
    send(stack, number, user, "Sale!", "gate-send-12")
    results = eventually(
        lambda: (found := [r for r in send_results_for(stack, user)
                           if r["message_id"] == "gate-send-12"])[1:] and found,
        what="the second result",
    )  # fmt: skip
    assert [r["status"] for r in results] == ["REJECTED", "REJECTED"]
    assert results[0] == results[1]
    assert carrier_got(stack, "gate-send-12") == 0


def test_a_send_to_an_allowed_user_is_sent_once_with_its_result(stack: Stack) -> None:
    number, user = "+18005550121", "+12095550121"
    send(stack, number, user, "Hello", "gate-send-2")
    result = result_of(stack, user, "gate-send-2")
    assert result["status"] == "SENT" and result["attempts"] == 1
    time.sleep(1.0)
    assert carrier_got(stack, "gate-send-2") == 1
    assert len([r for r in send_results_for(stack, user) if r["message_id"] == "gate-send-2"]) == 1


def test_a_brand_stop_rejects_sends_from_every_number_of_the_brand(stack: Stack) -> None:
    a, b, other, user = "+18005550131", "+18005550132", "+18005550133", "+12095550131"
    for number in (a, b):
        configure(stack, number, brand_id="acme-531", opt_out_scope="brand")
    stack.inbound("gate-stop-3", user, a, "STOP")
    eventually(lambda: blocked(stack, b, user), what="the brand block")
    for n, number in enumerate((a, b, other)):
        send(stack, number, user, "Sale!", f"gate-send-3{n}")
    statuses = [result_of(stack, user, f"gate-send-3{n}")["status"] for n in range(3)]
    assert statuses == ["REJECTED", "REJECTED", "SENT"]
    assert result_of(stack, user, "gate-send-31")["scope"] == "brand:acme-531"


def test_a_send_10_ms_after_a_stop_is_rejected(stack: Stack) -> None:
    number, user = "+18005550141", "+12095550141"
    stack.inbound("gate-stop-4", user, number, "STOP")
    time.sleep(0.01)
    send(stack, number, user, "Sale!", "gate-send-4")
    assert result_of(stack, user, "gate-send-4")["status"] == "REJECTED"
    assert carrier_got(stack, "gate-send-4") == 0


def test_a_send_outside_the_brands_quiet_hours_is_held(stack: Stack) -> None:
    """Held, with no result yet; the release when the window opens: tests/unit/test_gate.py."""
    number, user = "+18005550151", "+12095550151"  # the user is in Los Angeles
    configure(stack, number, brand_id="quiet-551")
    los_angeles_hour = (time.gmtime().tm_hour - 8) % 24  # December: UTC-8
    later = (los_angeles_hour + 2) % 24
    window = {"quiet_hours": f"{later:02d}:00-{later:02d}:30"}  # not open now
    status, answer = stack.http("PUT", "/v1/brands/quiet-551", window, AUTH)
    assert status == 200, answer
    send(stack, number, user, "Sale!", "gate-send-5")

    def held() -> bool:
        return any(
            b"gate-send-5" in h["payload"]
            for h in stack.read_topic("outbound-held", "delivery_retry")
        )

    eventually(held, what="the send held")
    assert not [r for r in send_results_for(stack, user) if r["message_id"] == "gate-send-5"]
    assert carrier_got(stack, "gate-send-5") == 0


def test_a_held_send_is_gated_again_when_it_is_due(stack: Stack) -> None:
    number, user = "+18005550161", "+12095550161"
    send_record = {
        "message_id": "gate-send-6", "channel": "SMS", "from_number": number, "to_number": user,
        "text": "Doors open", "media_urls": [], "reference": None, "category": None,
        "requested_at": int(time.time() * 1000),
    }  # fmt: skip
    held = {
        "kind": "SEND", "attempts": 0, "not_before": int(time.time() * 1000) + 1000,
        "payload": AvroSerde("outbound_message", "outbound-messages").encode(send_record),
        "first_attempt_at": int(time.time() * 1000), "last_error": "outside quiet hours",
    }  # fmt: skip
    value = AvroSerde("delivery_retry", "outbound-held").encode(held)
    stack.produce("outbound-held", value, key=user.encode())
    assert result_of(stack, user, "gate-send-6")["status"] == "SENT"


def test_a_dead_lettered_send_is_failed_and_can_be_replayed(stack: Stack) -> None:
    number, user = "+18005550171", "+12095550171"
    stack.carrier.script["/v1/messages"] = [Scripted(400)]  # the carrier refuses it once
    send(stack, number, user, "Your code is 1234", "gate-send-7")
    failed = result_of(stack, user, "gate-send-7")
    assert failed["status"] == "FAILED" and failed["http_status"] == 400
    replay = stack.optout("sends", "replay", "--number", number)
    assert replay.returncode == 0 and "replayed 1 send deliveries" in replay.stdout
    eventually(lambda: carrier_got(stack, "gate-send-7") == 2, what="the replayed send")
    eventually(
        lambda: [r["status"] for r in send_results_for(stack, user)] == ["FAILED", "SENT"],
        what="the replayed send's result",
    )


def test_a_send_to_a_blocked_user_with_a_newline_after_the_number_is_rejected_as_invalid(
    stack: Stack,
) -> None:
    """A number is E.164 with nothing around it: "+1406...\\n" was once taken for one (`$`
    matched before the newline), looked up under a key no STOP wrote, and sent."""
    number, user = "+18005550191", "+14065550191"
    stack.inbound("gate-stop-nl", user, number, "STOP")
    eventually(lambda: blocked(stack, number, user), what="the block")
    send_record = {
        "message_id": "gate-send-nl", "channel": "SMS", "from_number": number,
        "to_number": user + "\n", "text": "Sale!", "media_urls": [], "reference": "r",
        "category": None, "requested_at": int(time.time() * 1000),
    }  # fmt: skip
    value = AvroSerde("outbound_message", "outbound-messages").encode(send_record)
    stack.produce("outbound-messages", value, key=(user + "\n").encode())
    (result,) = eventually(
        lambda: [
            r
            for r in stack.read_topic("send-results", "send_result")
            if r["message_id"] == "gate-send-nl"
        ],
        what="the result of gate-send-nl",
    )
    assert result["status"] == "REJECTED", result
    assert f"invalid number: to_number {user + chr(10)!r}" in result["reason"]
    assert carrier_got(stack, "gate-send-nl") == 0


def test_a_send_over_http_to_a_number_with_a_newline_is_refused_with_the_reason(
    stack: Stack,
) -> None:
    number, user = "+18005550192", "+14065550192"
    stack.inbound("gate-stop-nl-2", user, number, "STOP")
    eventually(lambda: blocked(stack, number, user), what="the block")
    for to in (user + "\n", user + "\r\n", " " + user, user + "\t"):
        body = {"from": number, "to": to, "text": "Sale!", "message_id": "gate-send-nl-2"}
        status, answer = stack.http("POST", "/v1/messages", body, AUTH)
        assert status == 400, (to, answer)
        assert answer["problems"] == [
            f"invalid number: to_number {to!r} is not an E.164 number like +12125550123"
        ]
    time.sleep(1.0)
    assert carrier_got(stack, "gate-send-nl-2") == 0
