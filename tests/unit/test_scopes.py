"""Consent scopes (streams/rules/scopes.py): one opt-out covers a campaign or a brand, and scope
changes never unblock anyone. Each numbered rule of the module is tested here without a broker;
tests/e2e/test_scopes.py runs them through the service."""

from __future__ import annotations

from collections.abc import Callable

from optout.schemas import Record
from optout.streams.rules.decide import decide, decide_manual
from optout.streams.rules.number_settings import (
    default_settings,
    follow_brand_default,
    updated_settings,
)
from optout.streams.rules.scopes import (
    MemberBlock,
    consent,
    consent_at,
    kept_by_former_members,
    lifted_for_members,
    member_blocks,
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
    for to, settings in ((A, number(A, "brand:acme")), (B, joined)):  # at any of its numbers
        decision = decide(inbound("START", to, T0 + 2000), settings, entries, T0 + 2000,
                          members=lambda scope: [joined])  # fmt: skip
        assert decision.consent_action == "OPT_IN", to
        after = Entries(entries)
        after.write(decision.entry, *decision.lifted)  # type: ignore[arg-type]
        assert not blocked(joined, after), to


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
    changed, kept, lifted = decided
    assert changed["scope"] == "brand:acme" and kept == []
    assert [e["scope"] for e in lifted] == [f"number:{B}"]  # its own entry says so too
    entries.write(changed, *lifted)
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


# An opt-in lifts every entry that speaks for the end user at a number of the scope: the
# scope's, a member's own block from before it joined, a block a member kept from a scope it
# left ("Fail closed", "Accepted, then nothing").

JOINED = T0 + 1000  # when A joined brand:acme, in the tests below


def acme_members(*settings: Record) -> Callable[[str], list[Record]]:
    """`members` for decide(): the settings of the numbers now in brand:acme."""
    return lambda scope: [s for s in settings if scope == "brand:acme"]


def pre_join_block() -> tuple[Record, Record, Entries]:
    """A blocked at the number alone (a STOP to A before it joined), then A and B in the brand."""
    acme_a, acme_b = number(A, "brand:acme", since=JOINED), number(B, "brand:acme")
    return acme_a, acme_b, Entries(**{f"number:{A}": entry(f"number:{A}", True, T0, texted=A)})


def removal(named: str, at: int, command_id: str = "c-lift") -> Record:
    return {
        "command_id": command_id, "action": "OPT_IN", "business_number": named,
        "end_user_number": USER, "scope": None, "reason": "re-consented in store",
        "actor": "support", "requested_at": at,
    }  # fmt: skip


def test_a_start_to_another_number_of_the_brand_lifts_a_members_own_pre_join_block() -> None:
    acme_a, acme_b, entries = pre_join_block()
    assert blocked(acme_a, entries) and not blocked(acme_b, entries)
    start = decide(inbound("START", B, T0 + 2000), acme_b, entries, T0 + 2000,
                   members=acme_members(acme_a, acme_b))  # fmt: skip
    assert start.consent_action == "OPT_IN" and start.entry_changed and not start.sender_blocked
    assert start.entry is not None and start.entry["scope"] == "brand:acme"
    assert start.reply_text is not None and start.kept == []
    [own] = start.lifted
    assert own == start.entry | {"scope": f"number:{A}"}  # the same opt-in: B, START, this message
    assert not own["blocked"] and own["since"] == T0 + 2000 and own["business_number"] == B
    entries.write(start.entry, *start.lifted)
    assert not blocked(acme_a, entries) and not blocked(acme_b, entries)
    assert consent(acme_a, entries).entry["message_id"] == f"in-{T0 + 2000}"  # type: ignore[index]
    assert not any(e["blocked"] for e in entries.values())  # the table (and its export) agrees


def test_without_the_members_a_start_to_an_unblocked_number_knew_of_nothing_to_lift() -> None:
    """The issue as it was: the caller must pass `members`, or the START writes nothing."""
    acme_a, acme_b, entries = pre_join_block()
    start = decide(inbound("START", B, T0 + 2000), acme_b, entries, T0 + 2000)
    assert start.consent_action is None and not start.entry_changed and start.lifted == []
    assert blocked(acme_a, entries)


def test_a_start_to_the_member_itself_lifts_its_own_block_in_its_own_entry_too() -> None:
    acme_a, acme_b, entries = pre_join_block()
    start = decide(inbound("START", A, T0 + 2000), acme_a, entries, T0 + 2000,
                   members=acme_members(acme_a, acme_b))  # fmt: skip
    assert start.consent_action == "OPT_IN" and not start.sender_blocked
    assert [e["scope"] for e in start.lifted] == [f"number:{A}"]


def test_a_start_while_the_brand_is_blocked_lifts_the_brand_and_each_members_own_block() -> None:
    acme_a, acme_b, entries = pre_join_block()
    acme_c = number(C, "brand:acme", since=JOINED)
    entries.write(entry("brand:acme", True, T0 + 100, texted=B))
    entries.write(entry(f"number:{C}", True, T0 + 50, texted=C))
    start = decide(inbound("START", B, T0 + 2000), acme_b, entries, T0 + 2000,
                   members=acme_members(acme_a, acme_b, acme_c))  # fmt: skip
    assert start.consent_action == "OPT_IN"
    assert sorted(e["scope"] for e in start.lifted) == [f"number:{A}", f"number:{C}"]
    entries.write(start.entry, *start.lifted)  # type: ignore[arg-type]
    assert not any(blocked(s, entries) for s in (acme_a, acme_b, acme_c))


def test_a_manual_removal_named_at_another_number_lifts_a_members_own_block() -> None:
    acme_a, acme_b, entries = pre_join_block()
    assert decide_manual(removal(B, T0 + 2000), acme_b, entries, T0 + 2000) is None  # the issue
    decided = decide_manual(removal(B, T0 + 2000), acme_b, entries, T0 + 2000,
                            members=acme_members(acme_a, acme_b))  # fmt: skip
    assert decided is not None
    assert decided.entry["scope"] == "brand:acme" and not decided.entry["blocked"]
    assert decided.kept == []
    assert decided.lifted == [decided.entry | {"scope": f"number:{A}"}]
    assert decided.lifted[0]["source"] == "manual" and decided.lifted[0]["reason"]
    entries.write(decided.entry, *decided.lifted)
    assert not blocked(acme_a, entries) and not blocked(acme_b, entries)
    again = decide_manual(removal(B, T0 + 3000, "c-again"), acme_b, entries, T0 + 3000,
                          members=acme_members(acme_a, acme_b))  # fmt: skip
    assert again is None  # nothing in the scope speaks for a block: an idempotent no-op


def test_a_manual_removal_lifts_a_block_a_member_kept_from_a_scope_it_left() -> None:
    moved = number(A, "brand:acme", since=JOINED, former=[("brand:old", 0, JOINED)])
    acme_b = number(B, "brand:acme")
    entries = Entries(**{"brand:old": entry("brand:old", True, T0, texted=C)})
    assert blocked(moved, entries) and not blocked(acme_b, entries)
    decided = decide_manual(removal(B, T0 + 2000), acme_b, entries, T0 + 2000,
                            members=acme_members(moved, acme_b))  # fmt: skip
    assert decided is not None and [e["scope"] for e in decided.lifted] == [f"number:{A}"]
    entries.write(decided.entry, *decided.lifted)
    assert not blocked(moved, entries)
    assert blocked(number(C, "brand:old"), entries)  # the scope it left is not touched


def test_a_start_to_the_current_scope_lifts_a_block_kept_from_a_former_scope() -> None:
    moved = number(A, "brand:acme", since=JOINED, former=[("brand:old", 0, JOINED)])
    acme_b = number(B, "brand:acme")
    entries = Entries(**{"brand:old": entry("brand:old", True, T0, texted=C)})
    start = decide(inbound("START", B, T0 + 2000), acme_b, entries, T0 + 2000,
                   members=acme_members(moved, acme_b))  # fmt: skip
    assert start.consent_action == "OPT_IN"
    assert [e["scope"] for e in start.lifted] == [f"number:{A}"]
    entries.write(start.entry, *start.lifted)  # type: ignore[arg-type]
    assert not blocked(moved, entries) and not blocked(acme_b, entries)
    assert entries["brand:old"]["blocked"] and blocked(number(C, "brand:old"), entries)


def test_a_block_kept_in_a_members_own_entry_when_it_left_is_lifted_like_its_own() -> None:
    """kept_by_former_members copied the old brand's block into A's own entry when a START
    lifted the old brand after A left; joining brand:acme, a START there lifts it."""
    moved = number(A, "brand:acme", since=JOINED + 500, former=[("brand:old", 0, JOINED)])
    entries = Entries(**{"brand:old": entry("brand:old", False, JOINED + 100, texted=C)})
    entries.write(entry("brand:old", True, T0, texted=C) | {"scope": f"number:{A}"})
    assert blocked(moved, entries)
    start = decide(inbound("START", B, T0 + 3000), number(B, "brand:acme"), entries, T0 + 3000,
                   members=acme_members(moved))  # fmt: skip
    assert [e["scope"] for e in start.lifted] == [f"number:{A}"]
    entries.write(start.entry, *start.lifted)  # type: ignore[arg-type]
    assert not blocked(moved, entries)


def test_a_stop_in_the_brand_leaves_a_members_own_block_as_it_is() -> None:
    acme_a, acme_b, entries = pre_join_block()
    own_before = entries[f"number:{A}"]
    for text in ("STOP", "HELP", "see you"):
        decision = decide(inbound(text, B, T0 + 2000), acme_b, entries, T0 + 2000,
                          members=acme_members(acme_a, acme_b))  # fmt: skip
        assert decision.lifted == [] and decision.kept == [], text
        assert decision.consent_action in (None, "OPT_OUT"), text
    stop = decide(inbound("STOP", B, T0 + 2000), acme_b, entries, T0 + 2000,
                  members=acme_members(acme_a, acme_b))  # fmt: skip
    entries.write(stop.entry)  # type: ignore[arg-type]
    assert entries[f"number:{A}"] is own_before
    assert blocked(acme_a, entries) and blocked(acme_b, entries)


def test_an_opt_in_older_than_a_members_block_lifts_nothing() -> None:
    """A late START (received before the member's block was made) is refused whole: lifting the
    brand's older block alone would leave A's newer block outranked by the brand's opt-in."""
    acme_a, acme_b, entries = pre_join_block()
    entries[f"number:{A}"] = entries[f"number:{A}"] | {"received_at": T0 + 1500}
    entries.write(entry("brand:acme", True, T0 + 100, texted=B))
    late = inbound("START", B, T0 + 1400, message_id="late-start")
    decision = decide(late, acme_b, entries, T0 + 2000, members=acme_members(acme_a, acme_b))
    assert decision.classification.rule == "opt_in_older_than_block"
    assert not decision.entry_changed and decision.lifted == [] and decision.reply_text is None
    assert decision.consent_action is None and decision.sender_blocked
    on_time = inbound("START", B, T0 + 1600, message_id="start")
    decision = decide(on_time, acme_b, entries, T0 + 2000, members=acme_members(acme_a, acme_b))
    assert decision.consent_action == "OPT_IN"
    assert [e["scope"] for e in decision.lifted] == [f"number:{A}"]


def test_an_opt_in_read_again_from_before_a_members_block_changes_nothing() -> None:
    """After a restart, a START read again from before the STOP that made A's block (a later
    message of the same end user, same partition) was applied before that block existed."""
    acme_a, acme_b, entries = pre_join_block()
    entries[f"number:{A}"] = entries[f"number:{A}"] | {"position": "inbound-messages:1:50"}
    members = acme_members(acme_a, acme_b)
    again = decide(inbound("START", B, T0 + 2000), acme_b, entries, T0 + 2000,
                   "inbound-messages:1:40", members=members)  # fmt: skip
    assert not again.entry_changed and again.lifted == [] and again.reply_text is None
    later = decide(inbound("START", B, T0 + 2000), acme_b, entries, T0 + 2000,
                   "inbound-messages:1:60", members=members)  # fmt: skip
    assert later.consent_action == "OPT_IN" and len(later.lifted) == 1
    assert later.lifted[0]["position"] == "inbound-messages:1:60"


def test_a_replayed_start_lifts_again_what_a_crash_left_unwritten_but_no_later_block() -> None:
    acme_a, acme_b, entries = pre_join_block()
    members = acme_members(acme_a, acme_b)
    first = decide(inbound("START", B, T0 + 2000, "m-start"), acme_b, entries, T0 + 2000,
                   members=members)  # fmt: skip
    entries.write(first.entry)  # type: ignore[arg-type]  # then the worker died
    replay = decide(inbound("START", B, T0 + 2000, "m-start"), acme_b, entries, T0 + 5000,
                    members=members)  # fmt: skip
    assert not replay.entry_changed and replay.consent_action == "OPT_IN"
    assert replay.lifted == first.lifted
    later_block = entry(f"number:{A}", True, T0 + 4000, texted=A)  # made after the START
    entries.write(later_block)
    replay = decide(inbound("START", B, T0 + 2000, "m-start"), acme_b, entries, T0 + 5000,
                    members=members)  # fmt: skip
    assert replay.consent_action == "OPT_IN" and replay.lifted == []


def test_yes_is_an_opt_in_only_where_the_number_texted_is_blocked() -> None:
    acme_a, acme_b, entries = pre_join_block()
    members = acme_members(acme_a, acme_b)
    to_b = decide(inbound("YES", B, T0 + 2000), acme_b, entries, T0 + 2000, members=members)
    assert to_b.classification.rule == "yes_while_not_blocked" and to_b.lifted == []
    assert not to_b.entry_changed and to_b.reply_text is None
    to_a = decide(inbound("YES", A, T0 + 2000), acme_a, entries, T0 + 2000, members=members)
    assert to_a.consent_action == "OPT_IN" and [e["scope"] for e in to_a.lifted] == [f"number:{A}"]


def test_a_number_that_joined_after_the_opt_in_or_a_block_made_since_is_not_lifted() -> None:
    opt_in = entry("brand:acme", False, T0 + 2000, texted=B)
    blocks = [
        MemberBlock(A, JOINED, T0, entry(f"number:{A}", True, T0, texted=A)),
        MemberBlock(C, T0 + 3000, T0, entry(f"number:{C}", True, T0, texted=C)),  # joined later
        MemberBlock(B, 0, T0 + 2500, entry(f"number:{B}", True, T0 + 2500, texted=B)),  # newer
        MemberBlock(B, 0, T0 + 2000, entry(f"number:{B}", True, T0 + 2000, texted=B)),  # a tie
    ]
    assert [e["scope"] for e in lifted_for_members(opt_in, blocks)] == [f"number:{A}"]


def test_member_blocks_finds_one_block_per_number_now_in_the_scope_and_nothing_else() -> None:
    acme_a = number(A, "brand:acme", since=JOINED)
    left = number(B, None, since=JOINED, former=[("brand:acme", 0, JOINED)])  # not a member
    opted_in = number(C, "brand:acme", since=JOINED)
    entries = Entries(**{f"number:{A}": entry(f"number:{A}", True, T0, texted=A)})
    entries.write(entry(f"number:{B}", True, T0, texted=B))
    entries.write(entry(f"number:{C}", False, T0, texted=C))
    entries.write(entry("brand:acme", True, T0 + 10))  # the scope's own entry is not one of them
    found = member_blocks("brand:acme", [acme_a, acme_a, left, opted_in], entries)
    assert [(b.number, b.joined_at, b.speaks_from) for b in found] == [(A, JOINED, T0)]
    assert member_blocks(f"number:{A}", [number(A)], entries) == []
