"""Consent scopes through the running service: one STOP covers a brand, one START lifts it, and
scope changes never unblock anyone (README, "Consent scopes"; the rules in
streams/rules/scopes.py). Lookups from two workers: tests/e2e/test_two_workers.py."""

from __future__ import annotations

import json
import time

import pytest

from optout.tables.client.blocklist_reader import BlocklistReader
from tests.support import (
    ADMIN_TOKEN,
    AUTH,
    Stack,
    blocked,
    configure,
    events_for,
    eventually,
    replies_to,
    settle_and_assert_once,
)

pytestmark = pytest.mark.e2e


def brand(stack: Stack, brand_id: str, *numbers: str) -> None:
    for number in numbers:
        configure(stack, number, brand_id=brand_id, opt_out_scope="brand")


def scope_answer(stack: Stack, number: str, user: str) -> dict:
    status, answer = stack.lookup(number, user)
    assert status == 200, answer
    return answer


def test_a_stop_to_one_number_blocks_the_brand_at_every_number_with_one_confirmation(
    stack: Stack, reader: BlocklistReader
) -> None:
    a, b, other, user = "+14045550111", "+14045550112", "+14045550113", "+14155550111"
    brand(stack, "acme-411", a, b)
    brand(stack, "other-411", other)
    stack.inbound("scope-stop-1", user, a, "STOP")
    eventually(lambda: blocked(stack, b, user), what="the brand block at the other number")
    answer = scope_answer(stack, b, user)
    assert answer["scope"] == "brand:acme-411" and answer["texted"] == a
    assert answer["keyword"] == "STOP" and answer["message_id"] == "scope-stop-1"
    assert not blocked(stack, other, user)
    settle_and_assert_once(stack, "scope-stop-1")
    assert len(replies_to(stack, user)) == 1 and "Acme" in replies_to(stack, user)[0]["text"]
    events = events_for(stack, user)
    assert [(e["action"], e["scope"]) for e in events] == [("OPT_OUT", "brand:acme-411")]
    eventually(lambda: reader.is_blocked(b, user), what="the reader to see the brand block")
    assert not reader.is_blocked(other, user)
    assert reader.consent(b, user).scope == "brand:acme-411"


def test_a_start_to_another_number_lifts_the_block_at_all_of_them(stack: Stack) -> None:
    a, b, user = "+14045550121", "+14045550122", "+14155550121"
    brand(stack, "acme-421", a, b)
    stack.inbound("scope-stop-2", user, a, "STOP")
    eventually(lambda: blocked(stack, b, user), what="the brand block")
    stack.inbound("scope-start-2", user, b, "START")
    eventually(lambda: not blocked(stack, a, user), what="the lift at the first number")
    assert not blocked(stack, b, user)
    assert [e["action"] for e in events_for(stack, user)] == ["OPT_OUT", "OPT_IN"]


def test_a_stop_and_a_start_5_ms_apart_to_two_numbers_apply_in_the_order_sent(
    stack: Stack,
) -> None:
    a, b, user = "+14045550131", "+14045550132", "+14155550131"
    brand(stack, "acme-431", a, b)
    sent = int(time.time() * 1000)
    stack.inbound("scope-stop-3", user, a, "STOP", received_at=sent)
    stack.inbound("scope-start-3", user, b, "START", received_at=sent + 5)
    settle_and_assert_once(stack, "scope-stop-3", "scope-start-3")
    assert not blocked(stack, a, user) and not blocked(stack, b, user)
    assert [e["message_id"] for e in events_for(stack, user)] == ["scope-stop-3", "scope-start-3"]


def test_a_number_joining_a_brand_inherits_its_blocks_and_keeps_its_own(stack: Stack) -> None:
    a, joining, user, own_user = "+14045550141", "+14045550142", "+14155550141", "+14155550142"
    brand(stack, "acme-441", a)
    stack.inbound("scope-stop-4a", user, a, "STOP")
    stack.inbound("scope-stop-4b", own_user, joining, "STOP")
    eventually(lambda: blocked(stack, joining, own_user), what="the number's own block")
    eventually(lambda: blocked(stack, a, user), what="the brand block")
    brand(stack, "acme-441", joining)
    assert blocked(stack, joining, user) and blocked(stack, joining, own_user)
    assert scope_answer(stack, joining, own_user)["scope"] == f"number:{joining}"
    # It keeps its own block until the end user opts in to the brand, at any of its numbers:
    stack.inbound("scope-start-4", own_user, a, "START")  # (not blocked at a itself)
    eventually(lambda: not blocked(stack, joining, own_user), what="the START to lift it")
    assert blocked(stack, joining, user)  # another end user's brand block stays


def test_a_number_leaving_a_brand_keeps_the_blocks_in_force_when_it_left(stack: Stack) -> None:
    a, leaving, user, later_user = "+14045550151", "+14045550152", "+14155550151", "+14155550152"
    brand(stack, "acme-451", a, leaving)
    stack.inbound("scope-stop-5a", user, a, "STOP")
    eventually(lambda: blocked(stack, leaving, user), what="the brand block")
    configure(stack, leaving, opt_out_scope="number")
    assert blocked(stack, leaving, user)
    stack.inbound("scope-stop-5b", later_user, a, "STOP")  # after it left: not its block
    stack.inbound("scope-start-5", user, a, "START")  # lifts the brand, not the number that left
    eventually(lambda: not blocked(stack, a, user), what="the lift in the brand")
    eventually(lambda: blocked(stack, a, later_user), what="the later brand block")
    assert blocked(stack, leaving, user) and not blocked(stack, leaving, later_user)
    answer = scope_answer(stack, leaving, user)
    assert answer["scope"] == f"number:{leaving}" and answer["message_id"] == "scope-stop-5a"
    stack.inbound("scope-start-5b", user, leaving, "START")
    eventually(lambda: not blocked(stack, leaving, user), what="an opt-in to the number itself")


def test_manual_changes_take_the_numbers_scope_and_refuse_a_narrower_removal(stack: Stack) -> None:
    a, b, user = "+14045550161", "+14045550162", "+14155550161"
    brand(stack, "acme-461", a, b)
    path = f"/v1/blocklist/{a}/{user}"
    status, accepted = stack.http("POST", path, {"reason": "asked by phone"}, AUTH)
    assert status == 202 and accepted["scope"] == "brand:acme-461"
    eventually(lambda: blocked(stack, b, user), what="the manual brand block")
    narrow = {"reason": "only this number", "scope": f"number:{a}"}
    status, refused = stack.http("DELETE", path, narrow, AUTH)
    assert status == 409 and "unblocks every number of brand:acme-461" in refused["error"]
    status, _ = stack.http(
        "DELETE", path, {"reason": "asked again", "scope": "brand:acme-461"}, AUTH
    )
    assert status == 202
    eventually(lambda: not blocked(stack, b, user), what="the manual lift")
    assert [(e["source"], e["scope"]) for e in events_for(stack, user)] == [
        ("manual", "brand:acme-461"),
        ("manual", "brand:acme-461"),
    ]
    _, history = stack.http("GET", f"/v1/blocklist/{b}/{user}/history")
    assert [e["reason"] for e in history["events"]] == ["asked by phone", "asked again"]


def test_a_brands_default_scope_moves_its_numbers_and_bad_values_are_refused(
    stack: Stack,
) -> None:
    a, b, user = "+14045550171", "+14045550172", "+14155550171"
    for number in (a, b):
        configure(stack, number, brand_id="acme-471")
    status, answer = stack.http("PUT", "/v1/brands/acme-471", {"opt_out_scope": "brand"}, AUTH)
    assert status == 200 and sorted(answer["numbers_rescoped"]) == [a, b]
    eventually(
        lambda: stack.http("GET", f"/v1/numbers/{b}")[1]["settings"]["scope"] == "brand:acme-471",
        what="the worker to follow the new scope",
    )
    stack.inbound("scope-stop-7", user, a, "STOP")
    eventually(lambda: blocked(stack, b, user), what="the brand block through the default")
    status, refused = stack.http("PUT", f"/v1/numbers/{a}", {"opt_out_scope": "campaign"}, AUTH)
    assert status == 422 and refused["problems"] == ["opt_out_scope campaign needs a campaign_id"]
    status, refused = stack.http("PUT", "/v1/brands/acme-471", {"opt_out_scope": "fleet"}, AUTH)
    assert status == 422 and "not one of number, campaign, brand" in refused["problems"][0]


def own_block_then_join(stack: Stack, brand_id: str, a: str, b: str, user: str, stop: str) -> None:
    """The issue's start ("Fail closed", "Accepted, then nothing"): the end user blocked at `a`
    alone, then `a` and `b` join a brand; blocked at `a` (its own block), not at `b`."""
    stack.inbound(stop, user, a, "STOP")
    eventually(lambda: blocked(stack, a, user), what="the number's own block")
    brand(stack, brand_id, a, b)
    assert blocked(stack, a, user) and not blocked(stack, b, user)
    assert scope_answer(stack, a, user)["scope"] == f"number:{a}"


def lifts_in_history(stack: Stack, number: str, user: str) -> list[tuple[str, str, str]]:
    _, history = stack.http("GET", f"/v1/blocklist/{number}/{user}/history")
    return sorted((e["action"], e["scope"], e["message_id"]) for e in history["events"])


def test_a_start_to_another_number_lifts_a_block_the_number_had_before_it_joined(
    stack: Stack,
) -> None:
    a, b, user = "+14045550181", "+14045550182", "+14155550181"
    own_block_then_join(stack, "acme-481", a, b, user, "scope-stop-8")
    stack.inbound("scope-start-8", user, b, "START")
    eventually(lambda: not blocked(stack, a, user), what="the START to b to lift the block at a")
    assert not blocked(stack, b, user)
    answer = scope_answer(stack, a, user)
    assert answer["message_id"] == "scope-start-8" and answer["texted"] == b
    settle_and_assert_once(stack, "scope-stop-8", "scope-start-8")
    assert [(e["action"], e["scope"]) for e in events_for(stack, user)] == [
        ("OPT_OUT", f"number:{a}"),
        ("OPT_IN", "brand:acme-481"),  # one event for the scope
    ]
    assert lifts_in_history(stack, a, user) == [
        ("OPT_IN", "brand:acme-481", "scope-start-8"),
        ("OPT_IN", f"number:{a}", "scope-start-8"),  # a's own entry: lifted, and says so
        ("OPT_OUT", f"number:{a}", "scope-stop-8"),
    ]
    _, now = stack.http("GET", f"/v1/blocklist/{a}/{user}/history?at={int(time.time() * 1000)}")
    assert now["at"]["blocked"] is False


def test_a_removal_named_at_another_number_lifts_a_block_the_number_had_before_it_joined(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, user = "+14045550191", "+14045550192", "+14155550191"
    own_block_then_join(stack, "acme-491", a, b, user, "scope-stop-9")
    monkeypatch.setenv("OPTOUT_TOKEN", ADMIN_TOKEN)
    removed = stack.optout("blocklist", "remove", b, user, "--reason", "re-consented in store")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    command_id = json.loads(removed.stdout)["accepted"]
    eventually(lambda: not blocked(stack, a, user), what="the removal to lift the block at a")
    assert [(e["action"], e["scope"], e["source"]) for e in events_for(stack, user)] == [
        ("OPT_OUT", f"number:{a}", "keyword"),
        ("OPT_IN", "brand:acme-491", "manual"),
    ]
    assert lifts_in_history(stack, a, user) == [
        ("OPT_IN", "brand:acme-491", command_id),
        ("OPT_IN", f"number:{a}", command_id),
        ("OPT_OUT", f"number:{a}", "scope-stop-9"),
    ]
