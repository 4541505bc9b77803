"""The review queue through the running service: a message that may revoke consent waits with
its deadline; deciding it blocks the sender (source review) or closes it."""

from __future__ import annotations

import time

import pytest

from tests.support import AUTH, Stack, blocked, eventually

pytestmark = pytest.mark.e2e


def open_ids(stack: Stack) -> list[str]:
    status, answer = stack.http("GET", "/v1/review", None, AUTH)
    assert status == 200, answer
    return [item["review_id"] for item in answer["open"]]


def test_a_flagged_message_waits_and_an_opt_out_decision_blocks_the_sender(stack: Stack) -> None:
    number, user = "+16175550111", "+12535550111"
    stack.inbound("review-1", user, number, "please just leave me alone")
    eventually(lambda: "review-1" in open_ids(stack), what="the review item")
    assert not blocked(stack, number, user)
    body = {"resolution": "opt_out", "reason": "asked to be left alone"}
    status, decided = stack.http("POST", "/v1/review/review-1", body, AUTH)
    assert status == 200 and decided["status"] == "OPTED_OUT" and decided["resolved_by"] == "tester"
    eventually(lambda: blocked(stack, number, user), what="the block from the review")
    assert stack.lookup(number, user)[1]["source"] == "review"
    eventually(lambda: "review-1" not in open_ids(stack), what="the item closed")


def test_a_dismissed_item_closes_without_a_block_and_bad_decisions_are_refused(
    stack: Stack,
) -> None:
    number, user = "+16175550121", "+12535550121"
    stack.inbound("review-2", user, number, "I'll stop by the store later")
    eventually(lambda: "review-2" in open_ids(stack), what="the review item")
    status, _ = stack.http("POST", "/v1/review/review-2", {"resolution": "maybe"}, AUTH)
    assert status == 400
    assert (
        stack.http("POST", "/v1/review/review-2", {"resolution": "dismiss", "reason": "x"})[0]
        == 401
    )
    body = {"resolution": "dismiss", "reason": "a visit, not a revocation"}
    assert stack.http("POST", "/v1/review/review-2", body, AUTH)[0] == 200
    eventually(lambda: "review-2" not in open_ids(stack), what="the item closed")
    assert not blocked(stack, number, user)
    assert stack.http("POST", "/v1/review/review-2", body, AUTH)[0] == 404  # decided already


def test_an_item_past_its_deadline_raises_a_compliance_alert(stack: Stack) -> None:
    number, user = "+16175550131", "+12535550131"
    month_ago = int(time.time() * 1000) - 30 * 24 * 3600 * 1000
    stack.inbound("review-3", user, number, "wrong number", received_at=month_ago)
    alerts = eventually(
        lambda: [a for a in stack.read_topic("compliance-alerts", "compliance_alert")
                 if a["message_id"] == "review-3"],
        what="the overdue alert",
    )  # fmt: skip
    assert [a["kind"] for a in alerts] == ["REVIEW_OVERDUE"]
    assert alerts[0]["took_seconds"] > alerts[0]["deadline_seconds"]
