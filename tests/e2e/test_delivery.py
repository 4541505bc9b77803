"""Deliveries against real HTTP servers that fail in each way, through the running worker."""

from __future__ import annotations

import time

import pytest

from optout.schemas import AvroSerde
from optout.streams.embedded.standins import Scripted, StandIn
from optout.streams.rules.webhook_signing import verify_signature
from tests.support import HTTP_TIMEOUT, WEBHOOK_SECRET, Stack, eventually, settle_and_assert_once

pytestmark = pytest.mark.e2e

WEBHOOK = AvroSerde("webhook_event", "customer-webhook")


def to(stand_in: StandIn, path: str) -> list:
    return [r for r in stand_in.received if r.path == path]


def outcomes(stack: Stack, message_id: str, kind: str = "WEBHOOK") -> list[tuple[str, int]]:
    return [
        (r["outcome"], r["attempt"]) for r in stack.results_for(message_id) if r["kind"] == kind
    ]


def dead_letter_for(stack: Stack, message_id: str) -> dict | None:
    for dead in stack.read_topic("dead-letters", "dead_letter"):
        if dead["source_topic"] != "customer-webhook":
            continue
        if WEBHOOK.decode(dead["value"])["message"]["message_id"] == message_id:
            return dead
    return None


def test_500_then_200_is_retried_and_delivered_once(stack: Stack) -> None:
    number, path = "+17135550101", "/flaky"
    stack.set_settings(number, webhook_url=stack.webhook_b.url + path)
    stack.webhook_b.script[path] = [Scripted(500)]
    stack.inbound("d-500", "+12025550101", number, "hello")

    eventually(lambda: len(to(stack.webhook_b, path)) == 2, what="a second attempt")
    keys = {r.headers["Idempotency-Key"] for r in to(stack.webhook_b, path)}
    assert keys == {"d-500"}
    eventually(lambda: ("SENT", 2) in outcomes(stack, "d-500"), what="SENT result")
    assert outcomes(stack, "d-500") == [("RETRYING", 1), ("SENT", 2)]
    time.sleep(2)
    assert len(to(stack.webhook_b, path)) == 2


def test_429_waits_for_retry_after(stack: Stack) -> None:
    number, path = "+17135550102", "/busy"
    stack.set_settings(number, webhook_url=stack.webhook_b.url + path)
    stack.webhook_b.script[path] = [Scripted(429, {"Retry-After": "3"})]
    stack.inbound("d-429", "+12025550102", number, "hello")

    eventually(lambda: len(to(stack.webhook_b, path)) == 2, timeout=40, what="a retry")
    first, second = to(stack.webhook_b, path)
    assert second.at - first.at >= 2.9
    assert outcomes(stack, "d-429")[-1] == ("SENT", 2)


def test_a_hanging_customer_does_not_hold_up_another(stack: Stack) -> None:
    slow, fast = "+17135550103", "+17135550104"
    stack.set_settings(slow, webhook_url=stack.webhook_b.url + "/hang")
    stack.set_settings(fast, webhook_url=stack.webhook_a.url + "/fast")

    def latency_to_fast(message_id: str) -> float:
        sent_at = time.time()
        stack.inbound(message_id, "+12025550104", fast, "hello")
        eventually(
            lambda: [
                r for r in to(stack.webhook_a, "/fast") if r.body["message_uuid"] == message_id
            ],
            what="the other customer's webhook",
        )
        (arrived,) = [
            r for r in to(stack.webhook_a, "/fast") if r.body["message_uuid"] == message_id
        ]
        return arrived.at - sent_at

    usual = latency_to_fast("d-fast-1")
    # The slow customer's endpoint hangs on every attempt for four timeouts.
    stack.webhook_b.script["/hang"] = [Scripted(200, delay=HTTP_TIMEOUT * 4) for _ in range(3)]
    stack.inbound("d-hang", "+12025550103", slow, "hello")
    eventually(lambda: to(stack.webhook_b, "/hang"), what="the hanging request")
    while_hanging = latency_to_fast("d-fast-2")
    assert while_hanging < usual + HTTP_TIMEOUT, (usual, while_hanging)

    eventually(lambda: ("SENT", 4) in outcomes(stack, "d-hang"), timeout=60, what="retries")
    retrying = [r for r in stack.results_for("d-hang") if r["outcome"] == "RETRYING"]
    assert all("no answer within" in r["error"] for r in retrying) and len(retrying) == 3


def test_connection_refused_ends_in_dead_letters_and_replays_after_a_fix(stack: Stack) -> None:
    number = "+17135550105"
    stack.set_settings(number, webhook_url=f"http://127.0.0.1:{stack.closed_port}/gone")
    stack.inbound("d-refused", "+12025550105", number, "hello")

    eventually(lambda: dead_letter_for(stack, "d-refused"), timeout=60, what="a dead letter")
    dead = dead_letter_for(stack, "d-refused")
    assert dead is not None
    assert "after 4 attempt(s): gave up: cannot connect" in dead["reason"]
    assert [o for o, _ in outcomes(stack, "d-refused")] == ["RETRYING"] * 3 + ["DEAD_LETTERED"]

    stack.set_settings(number, webhook_url=stack.webhook_b.url + "/fixed")
    replay = stack.optout("webhooks", "replay", "--number", number)
    assert replay.returncode == 0, replay.stderr
    assert "replayed 1 webhook deliveries" in replay.stdout
    eventually(lambda: to(stack.webhook_b, "/fixed"), what="the replayed delivery")
    assert to(stack.webhook_b, "/fixed")[0].headers["Idempotency-Key"] == "d-refused"


def test_400_goes_straight_to_dead_letters(stack: Stack) -> None:
    number, path = "+17135550106", "/bad"
    stack.set_settings(number, webhook_url=stack.webhook_b.url + path)
    stack.webhook_b.script[path] = [Scripted(400)]
    stack.inbound("d-400", "+12025550106", number, "hello")

    eventually(lambda: dead_letter_for(stack, "d-400"), what="a dead letter")
    assert "after 1 attempt(s): HTTP 400" in dead_letter_for(stack, "d-400")["reason"]  # type: ignore[index]
    assert outcomes(stack, "d-400") == [("DEAD_LETTERED", 1)]
    assert len(to(stack.webhook_b, path)) == 1


def test_refused_destinations_are_dead_lettered_with_the_reason(stack: Stack) -> None:
    port = stack.webhook_a.port
    cases = {
        "d-localhost": ("+17135550107", f"http://localhost:{port}/ssrf", "resolves to 127.0.0.1"),
        "d-ipv6": ("+17135550108", f"http://[::1]:{port}/ssrf", "::1 is a loopback address"),
        "d-metadata": ("+17135550109", "http://169.254.169.254/latest", "link-local"),
    }
    for message_id, (number, url, _) in cases.items():
        stack.set_settings(number, webhook_url=url)
        stack.inbound(message_id, "+12025550107", number, "hello")
    for message_id, (_, _, reason) in cases.items():
        eventually(lambda m=message_id: dead_letter_for(stack, m), what=f"refusal of {message_id}")
        assert reason in dead_letter_for(stack, message_id)["reason"]  # type: ignore[index]
    assert to(stack.webhook_a, "/ssrf") == []


def test_webhooks_are_signed_for_the_customer_to_verify(stack: Stack) -> None:
    stack.inbound("d-signed", "+12025550110", "+17135550110", "hello")
    settle_and_assert_once(stack, "d-signed")
    (request,) = [r for r in stack.webhook_a.received if r.body["message_uuid"] == "d-signed"]
    assert verify_signature(
        WEBHOOK_SECRET,
        request.raw,
        request.headers.get("X-OptOut-Timestamp"),
        request.headers.get("X-OptOut-Signature"),
    )
    assert not verify_signature(
        "wrong", request.raw, request.headers["X-OptOut-Timestamp"],
        request.headers["X-OptOut-Signature"],
    )  # fmt: skip


def test_a_failing_carrier_gets_the_reply_again_with_the_same_key(stack: Stack) -> None:
    user = "+12025550111"
    stack.carrier.script["/v1/messages"] = [Scripted(503)]
    stack.inbound("d-carrier", user, "+17135550111", "STOP")
    eventually(
        lambda: len([r for r in stack.carrier.received if r.body["to"] == user]) == 2,
        what="the reply's second attempt",
    )
    keys = {r.headers["Idempotency-Key"] for r in stack.carrier.received if r.body["to"] == user}
    assert keys == {"d-carrier:reply"}
    eventually(lambda: ("SENT", 2) in outcomes(stack, "d-carrier", "REPLY"), what="SENT")


def test_a_confirmation_accepted_after_five_minutes_raises_a_compliance_alert(
    stack: Stack,
) -> None:
    # The carrier received this STOP six minutes ago (a carrier's backlog, say).
    late = int(time.time() * 1000) - 360_000
    stack.inbound("late-stop-1", "+12535550101", "+16175550101", "STOP", received_at=late)
    alerts = eventually(
        lambda: [a for a in stack.read_topic("compliance-alerts", "compliance_alert")
                 if a["message_id"] == "late-stop-1"],
        what="the compliance alert",
    )  # fmt: skip
    assert alerts[0]["kind"] == "CONFIRMATION_LATE" and alerts[0]["took_seconds"] > 300
