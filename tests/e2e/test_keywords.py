"""Keyword behaviour that needs the running pipeline: languages, per-number keywords, YES."""

from __future__ import annotations

import json

import pytest

from tests.support import (
    ADMIN_TOKEN,
    Stack,
    blocked,
    eventually,
    replies_to,
    settle_and_assert_once,
)

pytestmark = pytest.mark.e2e


def test_arret_to_a_canadian_number_gets_a_french_confirmation(stack: Stack) -> None:
    business, user = "+15145550101", "+12265550101"  # Montréal
    stack.inbound("ca-1", user, business, "Arrêt")
    settle_and_assert_once(stack, "ca-1")
    assert blocked(stack, business, user)
    (reply,) = replies_to(stack, user)
    assert "desabonne" in reply["text"] and len(reply["text"]) <= 160


def test_info_to_a_canadian_number_is_answered_in_both_languages(stack: Stack) -> None:
    business, user = "+14165550102", "+12265550102"  # Toronto
    stack.inbound("ca-2", user, business, "INFO")
    settle_and_assert_once(stack, "ca-2")
    (reply,) = replies_to(stack, user)
    assert "Help/Aide" in reply["text"] and len(reply["text"]) <= 160


def test_a_custom_keyword_works_on_its_number_only(stack: Stack) -> None:
    own, other, user = "+12125550103", "+12125550104", "+13035550103"
    result = stack.optout(
        "numbers", "set", own, "--brand", "Own Co", "--help-contact", "1-800-555-0100",
        "--add-opt-out", "BASTA", "--remove-keyword", "END",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["extra_opt_out_keywords"] == ["BASTA"]
    eventually(
        lambda: stack.http("GET", f"/v1/numbers/{own}")[1]["settings"]["extra_opt_out_keywords"],
        what="the worker to follow the settings",
    )

    stack.inbound("kw-1", user, other, "basta")
    stack.inbound("kw-2", user, own, "end")
    settle_and_assert_once(stack, "kw-1", "kw-2")
    assert not blocked(stack, other, user) and not blocked(stack, own, user)

    stack.inbound("kw-3", user, own, "Basta!")
    settle_and_assert_once(stack, "kw-3")
    assert blocked(stack, own, user) and not blocked(stack, other, user)


def test_yes_from_a_sender_who_is_not_blocked_changes_nothing(stack: Stack) -> None:
    business, user = "+12125550105", "+13035550105"
    stack.inbound("yes-1", user, business, "YES")
    settle_and_assert_once(stack, "yes-1")
    assert replies_to(stack, user) == [] and not blocked(stack, business, user)

    stack.inbound("yes-2", user, business, "STOP")
    stack.inbound("yes-3", user, business, "yes")
    settle_and_assert_once(stack, "yes-2", "yes-3")
    assert not blocked(stack, business, user)
    assert len(replies_to(stack, user)) == 2


def test_non_compliant_settings_are_refused_everywhere(stack: Stack) -> None:
    number = "+12125550106"
    refused = stack.optout("numbers", "set", number, "--reply", "help.en=Call us maybe")
    assert refused.returncode == 2
    assert "does not say 'MSG&DATA RATES MAY APPLY'" in refused.stderr
    assert stack.optout("numbers", "get", number).returncode == 1  # nothing was stored

    body = {"removed_keywords": ["STOP"]}
    status, answer = stack.http("PUT", f"/v1/numbers/{number}", body, _auth(ADMIN_TOKEN))
    assert status == 422 and any("cannot be removed" in p for p in answer["problems"])
    status, answer = stack.http("PUT", f"/v1/numbers/{number}", {"brand_name": "X"}, _auth("no"))
    assert status == 401

    status, answer = stack.http(
        "PUT", f"/v1/numbers/{number}", {"brand_name": "Omega Foods"}, _auth(ADMIN_TOKEN)
    )
    assert status == 200 and answer["settings"]["brand_name"] == "Omega Foods"
    eventually(
        lambda: stack.http("GET", f"/v1/numbers/{number}")[1]["stored"], what="settings stored"
    )


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def test_a_stop_to_a_puerto_rico_number_blocks_and_confirms_in_us_english(stack: Stack) -> None:
    """Puerto Rico (+1 787) is the USA for the TCPA: once taken for a foreign number, whose
    messages were only forwarded."""
    business, user = "+17875550161", "+14065550161"
    stack.inbound("pr-1", user, business, "STOP")
    settle_and_assert_once(stack, "pr-1")
    assert blocked(stack, business, user)
    (reply,) = replies_to(stack, user)
    assert reply["text"] == (
        "Acme: You are unsubscribed and will receive no more messages. Reply START to resubscribe."
    )
