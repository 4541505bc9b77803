"""Consent scopes (streams/rules/scopes.py): one opt-out covers a campaign or a brand, and scope
changes never unblock anyone. Each numbered rule of the module is tested here without a broker;
tests/e2e/test_scopes.py runs them through the service."""

from __future__ import annotations

from optout.schemas import Record
from optout.streams.rules.decide import decide, decide_manual
from optout.streams.rules.number_settings import (
    default_settings,
    follow_brand_default,
    updated_settings,
)
from optout.streams.rules.scopes import (
    consent,
    consent_at,
    kept_by_former_members,
    scope_problems,
    scope_transition,
)

A, B, C, USER = "+14045550101", "+14045550102", "+14045550103", "+14155550400"
T0 = 1_790_000_000_000


def number(n: str, scope: str | None = None, since: int = 0, former: list | None = None) -> Record:
    """Settings of a number in `scope` since `since`, having left `former`: (scope, joined,
    left) each."""
    return default_settings(n, "Acme", "help@acme.test") | {
        "scope": scope,
        "scope_since": since,
        "former_scopes": [
            {"scope": s, "joined_at": j, "left_at": left} for s, j, left in former or []
        ],
    }


def entry(scope: str, blocked: bool, since: int, texted: str = A) -> Record:
    return {
        "business_number": texted, "end_user_number": USER, "scope": scope, "blocked": blocked,
        "since": since, "keyword": "STOP" if blocked else "START", "message_id": f"m-{since}",
        "source": "keyword", "confirmed_at": since if blocked else 0, "reason": None,
        "actor": None, "received_at": since, "position": None,
    }  # fmt: skip


def inbound(text: str, to: str, at: int, message_id: str | None = None) -> Record:
    return {
        "message_id": message_id or f"in-{at}", "channel": "SMS", "from_number": USER,
        "to_number": to, "text": text, "media_urls": [], "received_at": at, "carrier": None,
    }  # fmt: skip


class Entries(dict):
    """The end user's entries by scope, written the way the classify agent writes them."""

    def __call__(self, scope: str) -> Record | None:
        return self.get(scope)

    def write(self, *entries: Record) -> None:
        for e in entries:
            self[e["scope"]] = e


def blocked(settings: Record, entries: Entries) -> bool:
    return consent(settings, entries).blocked


# Rule 1: one consent per scope.


def test_a_stop_to_one_number_of_a_brand_blocks_every_number_of_it_and_no_other_brand() -> None:
    acme_a, acme_b, other = (
        number(A, "brand:acme"),
        number(B, "brand:acme"),
        number(C, "brand:other"),
    )
    entries = Entries()
    decision = decide(inbound("STOP", A, T0), acme_a, entries, T0)
    assert decision.entry is not None and decision.entry["scope"] == "brand:acme"
    assert decision.consent_action == "OPT_OUT" and decision.reply_text is not None
    assert "Acme" in decision.reply_text
    entries.write(decision.entry)
    assert blocked(acme_a, entries) and blocked(acme_b, entries)
    assert not blocked(other, entries)
    decided = consent(acme_b, entries)
    assert decided.scope == "brand:acme" and decided.entry["business_number"] == A  # type: ignore[index]


def test_a_start_to_another_number_of_the_brand_lifts_it_for_all() -> None:
    acme_a, acme_b = number(A, "brand:acme"), number(B, "brand:acme")
    entries = Entries(**{"brand:acme": entry("brand:acme", True, T0)})
    decision = decide(inbound("START", B, T0 + 5), acme_b, entries, T0 + 5)
    assert decision.consent_action == "OPT_IN" and not decision.sender_blocked
    entries.write(decision.entry)  # type: ignore[arg-type]
    assert not blocked(acme_a, entries) and not blocked(acme_b, entries)


def test_a_second_stop_to_another_number_of_the_brand_is_no_second_change() -> None:
    entries = Entries(**{"brand:acme": entry("brand:acme", True, T0)})
    again = decide(inbound("STOP", B, T0 + 60_000), number(B, "brand:acme"), entries, T0 + 60_000)
    assert again.consent_action is None and again.reply_text is None and not again.entry_changed


def test_campaign_scope_covers_the_campaign_only() -> None:
    entries = Entries(**{"campaign:C1": entry("campaign:C1", True, T0)})
    assert blocked(number(B, "campaign:C1"), entries)
    assert not blocked(number(C, "campaign:C2"), entries)


# Rule 2: which entry decides.


def test_joining_inherits_the_scopes_blocks_and_keeps_the_numbers_own() -> None:
    entries = Entries(**{"brand:acme": entry("brand:acme", True, T0)})
    joined = number(B, "brand:acme", since=T0 + 1000)
    assert blocked(joined, entries)
    own_block = Entries(**{f"number:{B}": entry(f"number:{B}", True, T0, texted=B)})
    own_block.write(entry("brand:acme", False, T0 + 500))  # an opt-in to the brand before B joined
    assert blocked(joined, own_block)
    decided = consent(joined, own_block)
    assert decided.scope == f"number:{B}"


def test_a_brand_block_older_than_the_numbers_own_opt_in_still_reaches_it_on_joining() -> None:
    entries = Entries(**{"brand:acme": entry("brand:acme", True, T0)})
    entries.write(entry(f"number:{B}", False, T0 + 500, texted=B))
    assert blocked(number(B, "brand:acme", since=T0 + 1000), entries)


def test_an_opt_in_to_the_brand_after_joining_lifts_the_numbers_older_own_block() -> None:
    joined = number(B, "brand:acme", since=T0 + 1000)
    entries = Entries(**{f"number:{B}": entry(f"number:{B}", True, T0, texted=B)})
    assert blocked(joined, entries)
    decision = decide(inbound("START", A, T0 + 2000), number(A, "brand:acme"), entries, T0 + 2000)
    assert decision.consent_action is None  # nothing was blocked at A
    decision = decide(inbound("START", B, T0 + 2000), joined, entries, T0 + 2000)
    assert decision.consent_action == "OPT_IN"
    entries.write(decision.entry)  # type: ignore[arg-type]
    assert not blocked(joined, entries)


def test_leaving_keeps_the_blocks_in_force_when_the_number_left_and_no_later_ones() -> None:
    left = number(B, None, since=T0 + 1000, former=[("brand:acme", 0, T0 + 1000)])
    assert blocked(left, Entries(**{"brand:acme": entry("brand:acme", True, T0)}))
    assert not blocked(left, Entries(**{"brand:acme": entry("brand:acme", True, T0 + 2000)}))


def test_an_opt_in_to_the_brand_after_a_number_left_does_not_reach_it() -> None:
    left = number(B, None, since=T0 + 1000, former=[("brand:acme", 0, T0 + 1000)])
    entries = Entries(**{"brand:acme": entry("brand:acme", True, T0)})
    start = decide(inbound("START", A, T0 + 2000), number(A, "brand:acme"), entries, T0 + 2000,
                   former_members=lambda s: [left] if s == "brand:acme" else [])  # fmt: skip
    assert start.consent_action == "OPT_IN"
    assert [k["scope"] for k in start.kept] == [f"number:{B}"]
    entries.write(start.entry, *start.kept)  # type: ignore[arg-type]
    assert not blocked(number(A, "brand:acme"), entries)
    assert blocked(left, entries)
    assert consent(left, entries).entry["message_id"] == f"m-{T0}"  # type: ignore[index]


def test_a_number_that_left_is_lifted_by_an_opt_in_to_itself() -> None:
    left = number(B, None, since=T0 + 1000, former=[("brand:acme", 0, T0 + 1000)])
    entries = Entries(**{"brand:acme": entry("brand:acme", True, T0)})
    start = decide(inbound("START", B, T0 + 2000), left, entries, T0 + 2000)
    assert start.entry["scope"] == f"number:{B}"  # type: ignore[index]
    entries.write(start.entry)  # type: ignore[arg-type]
    assert not blocked(left, entries) and blocked(number(A, "brand:acme"), entries)


def test_former_members_keep_nothing_when_the_change_does_not_concern_them() -> None:
    left = number(B, None, since=T0 + 1000, former=[("brand:acme", 0, T0 + 1000)])
    entries = Entries(**{"brand:acme": entry("brand:acme", False, T0 + 3000)})
    reminder = entry("brand:acme", True, T0)
    assert kept_by_former_members("brand:acme", entry("brand:acme", True, T0 + 4000), [left],
                                  entries) == []  # fmt: skip
    same_since = Entries(**{"brand:acme": reminder})
    assert kept_by_former_members("brand:acme", reminder | {"confirmed_at": T0 + 9}, [left],
                                  same_since) == []  # fmt: skip


# Rule 3: the settings side of scope changes.


def test_a_scope_change_remembers_the_scope_left_and_when() -> None:
    plain = default_settings(B)
    joined = scope_transition(plain, plain | {"brand_id": "acme", "opt_out_scope": "brand"}, {}, T0)
    assert joined["scope"] == "brand:acme" and joined["scope_since"] == T0
    assert joined["former_scopes"] == []  # a number's own scope always speaks for it
    left = scope_transition(joined, joined | {"brand_id": "other"}, {}, T0 + 10)
    assert left["scope"] == "brand:other" and left["scope_since"] == T0 + 10
    assert left["former_scopes"] == [{"scope": "brand:acme", "joined_at": T0, "left_at": T0 + 10}]
    unchanged = scope_transition(left, left | {"help_contact": "x"}, {}, T0 + 20)
    assert unchanged["scope_since"] == T0 + 10 and len(unchanged["former_scopes"]) == 1


def test_a_brands_default_scope_applies_to_its_numbers_that_set_none() -> None:
    stored = default_settings(B) | {"brand_id": "acme", "brand_name": "Acme", "help_contact": "h"}
    updated, problems = updated_settings(stored, {}, stored, {"acme": "brand"}, T0)
    assert problems == [] and updated["scope"] == "brand:acme"
    own_choice = stored | {"opt_out_scope": "number"}
    rewritten, problems = follow_brand_default([stored, own_choice], "acme", "brand", T0)
    assert problems == [] and [s["number"] for s in rewritten] == [B]
    assert rewritten[0]["scope"] == "brand:acme"


def test_unknown_or_inconsistent_scope_settings_are_refused_with_the_reason() -> None:
    settings = default_settings(B)
    assert (
        "not one of number, campaign, brand"
        in scope_problems(settings | {"opt_out_scope": "company"}, None)[0]
    )
    assert scope_problems(settings | {"opt_out_scope": "campaign"}, None) == [
        "opt_out_scope campaign needs a campaign_id"
    ]
    assert "brand_id 'a b'" in scope_problems(settings | {"brand_id": "a b"}, None)[0]
    by_default = scope_problems(settings | {"brand_id": "acme"}, "campaign")
    assert by_default == [
        "opt_out_scope campaign (the default scope of brand 'acme') needs a campaign_id"
    ]
    _, problems = follow_brand_default([settings | {"brand_id": "acme"}], "acme", "campaign", T0)
    assert problems == [f"{B}: {by_default[0]}"]


# Manual changes and the history.


def test_a_manual_removal_in_the_brand_lifts_the_numbers_own_block_too() -> None:
    acme_b = number(B, "brand:acme", since=T0 + 1000)
    entries = Entries(**{f"number:{B}": entry(f"number:{B}", True, T0, texted=B)})
    command = {
        "command_id": "c-1", "action": "OPT_IN", "business_number": B, "end_user_number": USER,
        "scope": None, "reason": "asked by phone", "actor": "support", "requested_at": T0 + 2000,
    }  # fmt: skip
    decided = decide_manual(command, acme_b, entries, T0 + 2000)
    assert decided is not None
    changed, kept = decided
    assert changed["scope"] == "brand:acme" and kept == []
    entries.write(changed)
    assert not blocked(acme_b, entries)
    assert decide_manual(command, acme_b, entries, T0 + 3000) is None


def test_consent_at_a_past_moment_follows_the_scopes_the_number_was_in() -> None:
    left = number(B, None, since=T0 + 1000, former=[("brand:acme", 0, T0 + 1000)])
    events = {
        "brand:acme": [
            {"action": "OPT_OUT", "occurred_at": T0, "message_id": "m-stop"},
            {"action": "OPT_IN", "occurred_at": T0 + 2000, "message_id": "m-start"},
        ]
    }
    at = lambda ms: consent_at(left, lambda s: events.get(s, []), ms)  # noqa: E731
    assert not at(T0 - 1).blocked
    assert at(T0 + 500).blocked and at(T0 + 500).scope == "brand:acme"
    assert at(T0 + 3000).blocked  # the lift came after B left
