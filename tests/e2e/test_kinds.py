"""Consent by kind of message, through the running service: a kind-aware brand's STOP after a
marketing send blocks marketing and lets informational sends through; after an informational
send it blocks both; with the clarification on, everything is blocked until the person answers,
and the answer narrows it; a brand without either blocks everything, as before."""

from __future__ import annotations

import pytest

from tests.support import (
    AUTH,
    Stack,
    blocked,
    events_for,
    eventually,
    send_results_for,
    webhooks_for,
)

pytestmark = pytest.mark.e2e


def set_brand(stack: Stack, brand: str, number: str, **settings: object) -> None:
    status, answer = stack.http("PUT", f"/v1/brands/{brand}", settings, AUTH)
    assert status == 200, answer
    status, answer = stack.http("PUT", f"/v1/numbers/{number}", {"brand_id": brand}, AUTH)
    assert status == 200, answer
    eventually(
        lambda: stack.http("GET", f"/v1/brands/{brand}")[1]["numbers"] == [number],
        what=f"the worker to follow {number} into {brand}",
    )


def send(stack: Stack, number: str, user: str, message_id: str, kind: str | None) -> dict:
    """A send of `kind` through the gate; its one result."""
    body = {"from": number, "to": user, "text": "Hello", "message_id": message_id}
    status, answer = stack.http("POST", "/v1/messages", body | {"category": kind}, AUTH)
    assert status == 202, answer
    results = eventually(
        lambda: [r for r in send_results_for(stack, user) if r["message_id"] == message_id],
        what=f"the result of {message_id}",
    )
    assert len(results) == 1, results
    return results[0]


def blocked_for(stack: Stack, number: str, user: str, kind: str | None = None) -> bool:
    query = f"?kind={kind}" if kind else ""
    status, answer = stack.http("GET", f"/v1/blocklist/{number}/{user}{query}")
    assert status == 200, answer
    return answer["blocked"]


def stop(stack: Stack, message_id: str, user: str, number: str, text: str = "STOP") -> None:
    stack.inbound(message_id, user, number, text)
    eventually(lambda: blocked(stack, number, user), what=f"{user} blocked at {number}")


def test_a_stop_after_marketing_blocks_marketing_only_and_after_informational_everything(
    stack: Stack,
) -> None:
    number, after_marketing, after_alert = "+12065550701", "+12065550711", "+12065550712"
    kinds = ["marketing", "informational", "fraud-alerts:exempt"]
    set_brand(stack, "kinds-aware", number, kinds=kinds, kind_aware=True)

    assert send(stack, number, after_marketing, "ka-promo-1", "marketing")["status"] == "SENT"
    stop(stack, "ka-stop-1", after_marketing, number)
    assert not blocked_for(stack, number, after_marketing, "informational")
    assert blocked_for(stack, number, after_marketing, "marketing")
    assert blocked_for(stack, number, after_marketing)  # any kind that needs consent
    assert send(stack, number, after_marketing, "ka-alert-1", "informational")["status"] == "SENT"
    rejected = send(stack, number, after_marketing, "ka-promo-2", "marketing")
    assert rejected["status"] == "REJECTED" and rejected["blocked_by"] == "ka-stop-1"
    assert "blocks marketing messages and lets informational through" in rejected["reason"]
    unnamed = send(stack, number, after_marketing, "ka-unnamed", None)  # marketing: the default
    assert unnamed["status"] == "REJECTED"
    (event,) = [e for e in events_for(stack, after_marketing) if e["message_id"] == "ka-stop-1"]
    assert event["kinds"] == ["marketing"] and event["answered_send"] == "ka-promo-1"
    assert event["answered_kind"] == "marketing"
    status, evidence = stack.http("GET", f"/v1/blocklist/{number}/{after_marketing}/evidence")
    assert status == 200 and evidence["now"]["allowed_kinds"] == ["informational"]
    (change,) = [c for c in evidence["changes"] if c["message_id"] == "ka-stop-1"]
    assert (change["kinds_changed"], change["answered"]) == ("marketing", "ka-promo-1 (marketing)")

    assert send(stack, number, after_alert, "ka-alert-2", "informational")["status"] == "SENT"
    stop(stack, "ka-stop-2", after_alert, number)
    assert blocked_for(stack, number, after_alert, "informational")
    assert send(stack, number, after_alert, "ka-alert-3", "informational")["status"] == "REJECTED"
    # Exempt: sendable after a STOP (only where the law allows, README).
    assert send(stack, number, after_alert, "ka-fraud", "fraud-alerts")["status"] == "SENT"
    (event,) = [e for e in events_for(stack, after_alert) if e["message_id"] == "ka-stop-2"]
    assert event["kinds"] == [] and event["answered_kind"] == "informational"

    # A later STOP after an informational send stops what the first one let through.
    assert send(stack, number, after_marketing, "ka-alert-4", "informational")["status"] == "SENT"
    stack.inbound("ka-stop-3", after_marketing, number, "STOP")
    eventually(
        lambda: blocked_for(stack, number, after_marketing, "informational"),
        what="the second STOP to block informational too",
    )


def test_with_the_clarification_everything_is_blocked_until_the_answer_narrows_it(
    stack: Stack,
) -> None:
    number, answers, other = "+12065550721", "+12065550731", "+12065550732"
    set_brand(stack, "kinds-clarify", number, clarify=True)

    stop(stack, "kc-stop-1", answers, number)
    confirmation = eventually(
        lambda: [r for r in stack.carrier.received if r.body["to"] == answers],
        what="the confirmation",
    )
    assert "Reply ALL to stop all messages, or INFORMATIONAL" in confirmation[0].body["text"]
    assert blocked_for(stack, number, answers, "informational")
    stack.inbound("kc-answer-1", answers, number, "Informational")
    eventually(
        lambda: not blocked_for(stack, number, answers, "informational"),
        what="the answer to keep informational messages",
    )
    assert blocked_for(stack, number, answers, "marketing")
    eventually(  # carrier delivery checks again, from the worker's copy that follows the list
        lambda: (
            [
                (s["sender"], s["allowed_kinds"])
                for s in stack.http("GET", f"/v1/blocklist/{number}", headers=AUTH)[1]["senders"]
            ]
            == [(answers, ["informational"])]
        ),
        what="the worker's full copy to follow the answer",
    )
    result = send(stack, number, answers, "kc-alert-1", "informational")
    assert result["status"] == "SENT", result["reason"]
    narrowed = eventually(
        lambda: [e for e in events_for(stack, answers) if e["message_id"] == "kc-answer-1"],
        what="the answer's consent event",
    )
    assert narrowed[0]["action"] == "OPT_OUT" and narrowed[0]["kinds"] == ["marketing"]

    stop(stack, "kc-stop-2", other, number)
    stack.inbound("kc-other-1", other, number, "what is this about?")
    stack.inbound("kc-other-2", other, number, "ALL")  # the answer that keeps everything
    for message_id, answer in (("kc-other-1", False), ("kc-other-2", True)):
        forwarded = eventually(lambda m=message_id: webhooks_for(stack, m), what=message_id)
        assert (forwarded[0]["opt_out_assist"]["rule"] == "clarification_answer") is answer
    confirmed = eventually(
        lambda: [e for e in events_for(stack, other) if e["message_id"] == "kc-other-2"],
        what="the answer ALL recorded",
    )
    assert confirmed[0]["action"] == "OPT_OUT" and confirmed[0]["rule"] == "clarification_answer"
    assert blocked_for(stack, number, other, "informational")
    assert send(stack, number, other, "kc-alert-2", "informational")["status"] == "REJECTED"


def test_a_brand_that_is_not_kind_aware_blocks_every_kind(stack: Stack) -> None:
    number, user = "+12065550741", "+12065550751"
    set_brand(stack, "kinds-plain", number, kinds=["marketing", "informational"])
    assert send(stack, number, user, "kp-promo-1", "marketing")["status"] == "SENT"
    stop(stack, "kp-stop-1", user, number)
    assert blocked_for(stack, number, user, "informational")
    assert send(stack, number, user, "kp-alert-1", "informational")["status"] == "REJECTED"


def test_kind_settings_and_lookups_refuse_what_is_no_kind(stack: Stack) -> None:
    status, answer = stack.http("PUT", "/v1/brands/kinds-bad", {"kinds": ["promos"]}, AUTH)
    assert status == 422 and "say whether promos is marketing" in answer["problems"][0]
    status, answer = stack.http("PUT", "/v1/brands/kinds-bad", {"kind_aware": "yes"}, AUTH)
    assert status == 422 and "kind_aware must be bool" in answer["problems"][0]
    status, answer = stack.http("GET", "/v1/blocklist/+12065550741/+12065550751?kind=Not%20one")
    assert status == 400 and "kind 'Not one'" in answer["error"]
