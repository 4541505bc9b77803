"""decide(): what one message does to the block list, the replies and the consent events."""

from __future__ import annotations

from optout.streams.rules.decide import consent_event, decide, decide_manual
from optout.streams.rules.keywords import Intent

NOW = 1_790_000_000_000
SETTINGS = {
    "number": "+12125550100",
    "enabled": True,
    "brand_name": "Acme",
    "help_contact": "help@acme.test",
    "webhook_url": None,
    "extra_opt_out_keywords": [],
    "extra_opt_in_keywords": [],
    "extra_help_keywords": [],
    "removed_keywords": [],
    "replies": {},
    "updated_at": 0,
}


def decide_alone(message: dict, entry: dict | None, settings: dict, now: int, *position: str):
    """decide() for a number in its own scope, whose entry for the end user is `entry`."""
    return decide(message, settings, lambda scope: entry, now, *position)


def message(text: str, message_id: str = "m-1", to: str = "+12125550100") -> dict:
    return {
        "message_id": message_id,
        "channel": "SMS",
        "from_number": "+14155550100",
        "to_number": to,
        "text": text,
        "media_urls": [],
        "received_at": NOW - 5,
        "carrier": None,
    }


def blocked_entry(message_id: str = "m-0") -> dict:
    return {
        "business_number": "+12125550100",
        "end_user_number": "+14155550100",
        "blocked": True,
        "since": NOW - 1000,
        "keyword": "STOP",
        "message_id": message_id,
        "source": "keyword",
        "confirmed_at": NOW - 1000,
    }


def test_stop_blocks_and_confirms() -> None:
    decision = decide_alone(message("STOP"), None, SETTINGS, NOW)
    assert decision.entry_changed and decision.sender_blocked
    assert decision.entry is not None and decision.entry["since"] == NOW
    assert decision.consent_action == "OPT_OUT"
    assert decision.reply_text is not None and decision.reply_text.startswith("Acme:")


def test_stop_while_blocked_keeps_the_original_block() -> None:
    entry = blocked_entry()
    decision = decide_alone(message("STOP"), entry, SETTINGS, NOW)
    assert not decision.entry_changed and decision.entry is entry
    assert decision.consent_action is None


def test_start_unblocks_only_a_blocked_sender() -> None:
    unblock = decide_alone(message("START"), blocked_entry(), SETTINGS, NOW)
    assert unblock.entry_changed and not unblock.sender_blocked
    assert unblock.consent_action == "OPT_IN"
    assert unblock.reply_text is not None

    nothing_to_undo = decide_alone(message("START"), None, SETTINGS, NOW)
    assert not nothing_to_undo.entry_changed and nothing_to_undo.consent_action is None
    assert nothing_to_undo.reply_text is not None  # START is always answered


def test_yes_opts_in_only_a_blocked_sender() -> None:
    assert decide_alone(message("YES"), blocked_entry(), SETTINGS, NOW).consent_action == "OPT_IN"
    not_blocked = decide_alone(message("YES"), None, SETTINGS, NOW)
    assert not_blocked.classification.intent is Intent.NONE
    assert not_blocked.reply_text is None and not not_blocked.entry_changed


def test_help_is_answered_while_blocked_and_changes_nothing() -> None:
    decision = decide_alone(message("HELP"), blocked_entry(), SETTINGS, NOW)
    assert decision.reply_text is not None and "Msg&data rates may apply" in decision.reply_text
    assert not decision.entry_changed and decision.sender_blocked


def test_a_replayed_stop_publishes_again_without_rewriting_the_entry() -> None:
    """The worker died after writing the block but before publishing: say it all again."""
    entry = blocked_entry(message_id="m-1")
    decision = decide_alone(message("STOP", message_id="m-1"), entry, SETTINGS, NOW)
    assert not decision.entry_changed
    assert decision.consent_action == "OPT_OUT" and decision.reply_text is not None


def test_numbers_outside_usa_and_canada_and_disabled_numbers_are_only_forwarded() -> None:
    foreign = decide_alone(message("STOP", to="+447700900123"), None, SETTINGS, NOW)
    disabled = decide_alone(message("STOP"), None, SETTINGS | {"enabled": False}, NOW)
    for decision, rule in ((foreign, "outside_usa_canada"), (disabled, "number_disabled")):
        assert decision.classification.rule == rule
        assert decision.reply_text is None and not decision.entry_changed


def test_a_caribbean_or_made_up_plus_one_number_is_only_forwarded_a_canadian_one_handled() -> None:
    jamaica = decide_alone(message("STOP", to="+18765550100"), None, SETTINGS, NOW)
    bahamas = decide_alone(message("STOP", to="+12425550100"), None, SETTINGS, NOW)
    made_up = decide_alone(message("STOP", to="+15559990000"), None, SETTINGS, NOW)
    toronto = decide_alone(message("STOP", to="+14165550100"), None, SETTINGS, NOW)
    for decision in (jamaica, bahamas, made_up):
        assert decision.classification.rule == "outside_usa_canada"
    assert not jamaica.entry_changed and jamaica.reply_text is None
    assert toronto.consent_action == "OPT_OUT"


def test_a_toll_free_number_blocks_without_a_second_confirmation_unless_asked() -> None:
    toll_free = decide_alone(message("STOP", to="+18885550100"), None, SETTINGS, NOW)
    assert toll_free.consent_action == "OPT_OUT" and toll_free.reply_text is None
    asked = SETTINGS | {"toll_free_confirmation": True}
    confirmed = decide_alone(message("STOP", to="+18885550100"), None, asked, NOW)
    assert confirmed.reply_text is not None
    helped = decide_alone(message("HELP", to="+18885550100"), None, SETTINGS, NOW)
    assert helped.reply_text is not None  # only the opt-out confirmation is the network's


def test_ordinary_text_changes_nothing() -> None:
    decision = decide_alone(message("see you at 5"), blocked_entry(), SETTINGS, NOW)
    assert decision.reply_text is None and decision.consent_action is None
    assert not decision.entry_changed and decision.sender_blocked


def test_a_repeated_stop_is_confirmed_again_only_after_a_day() -> None:
    quiet = decide_alone(message("STOP", message_id="m-2"), blocked_entry(), SETTINGS, NOW)
    assert quiet.reply_text is None and not quiet.entry_changed

    day_later = NOW + 24 * 60 * 60 * 1000
    again = decide_alone(message("STOP", message_id="m-3"), blocked_entry(), SETTINGS, day_later)
    assert again.reply_text is not None and again.consent_action is None
    assert again.entry_changed and again.entry is not None
    assert again.entry["confirmed_at"] == day_later and again.entry["since"] == NOW - 1000


def test_reply_language_follows_the_keyword() -> None:
    arret = decide_alone(message("ARRET", to="+12495550100"), None, SETTINGS, NOW)
    assert arret.reply_language == "fr" and "desabonne" in (arret.reply_text or "")
    aide = decide_alone(message("aide"), None, SETTINGS, NOW)
    assert aide.reply_language == "fr" and "Aide" in (aide.reply_text or "")
    ayuda = decide_alone(message("AYUDA"), None, SETTINGS, NOW)
    assert ayuda.reply_language == "es"


def test_info_is_bilingual_in_canada_only() -> None:
    canada = decide_alone(message("INFO", to="+12265550100"), None, SETTINGS, NOW)
    usa = decide_alone(message("INFO", to="+13055550100"), None, SETTINGS, NOW)
    assert canada.reply_language == "en+fr" and "Aide" in (canada.reply_text or "")
    assert len(canada.reply_text or "") <= 160
    assert usa.reply_language == "en" and "Aide" not in (usa.reply_text or "")


def test_a_numbers_own_keywords_and_replies() -> None:
    own = SETTINGS | {
        "extra_opt_out_keywords": ["basta"],
        "removed_keywords": ["END"],
        "replies": {"opt_out.en": "{brand}: done, no more texts. Reply START to come back."},
    }
    basta = decide_alone(message("Basta!"), None, own, NOW)
    assert basta.consent_action == "OPT_OUT"
    assert basta.reply_text == "Acme: done, no more texts. Reply START to come back."
    assert decide_alone(message("END"), None, own, NOW).classification.intent is Intent.NONE
    assert decide_alone(message("basta"), None, SETTINGS, NOW).classification.intent is Intent.NONE


def test_an_opt_in_received_before_the_block_was_made_changes_nothing() -> None:
    """A carrier redelivering an old START (or YES) late must not lift a block made since."""
    entry = blocked_entry() | {"received_at": NOW - 5}
    for text in ("START", "YES"):
        late = message(text, message_id="m-late") | {"received_at": NOW - 6}
        decision = decide_alone(late, entry, SETTINGS, NOW)
        assert decision.classification.rule == "opt_in_older_than_block", text
        assert not decision.entry_changed and decision.reply_text is None
    on_time = decide_alone(message("START") | {"received_at": NOW - 5}, entry, SETTINGS, NOW)
    assert on_time.entry_changed and on_time.consent_action == "OPT_IN"


def test_an_opt_out_is_applied_however_late_it_arrives() -> None:
    lifted = blocked_entry() | {"blocked": False, "received_at": NOW - 5}
    late = message("STOP", message_id="m-late") | {"received_at": NOW - 60_000}
    decision = decide_alone(late, lifted, SETTINGS, NOW)
    assert decision.entry_changed and decision.consent_action == "OPT_OUT"
    assert decision.entry is not None and decision.entry["received_at"] == NOW - 60_000


def test_a_message_read_again_from_before_the_last_change_changes_nothing() -> None:
    """After a restart, a STOP read again from before a START already applied must not block
    again (it had no effect the first time, so it left no seen-mark): the crash test's case."""
    lifted = blocked_entry() | {"blocked": False, "position": "inbound-messages:2:2926"}
    again = decide_alone(
        message("STOP", message_id="m-765"), lifted, SETTINGS, NOW, "inbound-messages:2:765"
    )
    assert not again.entry_changed and again.reply_text is None and again.consent_action is None
    assert again.classification.intent is Intent.OPT_OUT  # still forwarded as what it is
    for position in ("inbound-messages:2:2927", "inbound-messages:3:765", "inbound-by-user:2:765"):
        fresh = decide_alone(message("STOP", message_id="m-new"), lifted, SETTINGS, NOW, position)
        assert fresh.entry_changed and fresh.entry is not None, position
        assert fresh.entry["position"] == position


def never_asked(scope: str) -> list[dict]:
    raise AssertionError(f"members({scope!r}) asked for a number scope")


def test_a_number_in_its_own_scope_lifts_only_its_own_entry_and_never_asks_for_members() -> None:
    unblock = decide(message("START"), SETTINGS, lambda s: blocked_entry(), NOW, None, lambda s: (),
                     never_asked)  # fmt: skip
    assert unblock.consent_action == "OPT_IN" and unblock.lifted == [] and unblock.kept == []
    assert unblock.entry is not None and unblock.entry["scope"] == "number:+12125550100"
    nothing = decide(message("START"), SETTINGS, lambda s: None, NOW, members=never_asked)
    assert nothing.consent_action is None and nothing.lifted == [] and not nothing.entry_changed
    stop = decide(message("STOP"), SETTINGS, lambda s: None, NOW, members=never_asked)
    assert stop.consent_action == "OPT_OUT" and stop.lifted == []


def test_a_number_that_left_a_brand_is_lifted_by_its_own_entry_alone() -> None:
    """Its own entry is its scope's: the opt-in written there outranks the block it kept."""
    left = SETTINGS | {
        "scope": None,
        "scope_since": NOW - 500,
        "former_scopes": [{"scope": "brand:acme", "joined_at": 0, "left_at": NOW - 500}],
    }
    entries = {"brand:acme": blocked_entry() | {"scope": "brand:acme"}}
    start = decide(message("START"), left, entries.get, NOW, members=never_asked)
    assert start.consent_action == "OPT_IN" and not start.sender_blocked and start.lifted == []
    assert start.entry is not None and start.entry["scope"] == "number:+12125550100"
    command = {
        "command_id": "c-1", "action": "OPT_IN", "business_number": "+12125550100",
        "end_user_number": "+14155550100", "scope": None, "reason": "asked by phone",
        "actor": "support", "requested_at": NOW,
    }  # fmt: skip
    decided = decide_manual(command, left, entries.get, NOW, members=never_asked)
    assert decided is not None and decided.lifted == [] and not decided.entry["blocked"]
    assert decided.entry["scope"] == "number:+12125550100"
    assert decide_manual(command, SETTINGS, lambda s: None, NOW, members=never_asked) is None


def test_one_opt_out_event_for_the_scope_and_a_history_event_per_entry_lifted() -> None:
    """optout-events: one OPT_IN for the scope (its id is the message's, so an analyst
    deduplicating by it would drop per-number copies anyway); each own entry lifted gets the
    same event in its own scope's history, so table and history agree."""
    member = SETTINGS | {"number": "+12125550199", "scope": "brand:acme", "scope_since": NOW - 500}
    texted = SETTINGS | {"scope": "brand:acme", "scope_since": 0}
    entries = {"number:+12125550199": blocked_entry() | {"scope": "number:+12125550199"}}
    start = decide(message("START"), texted, entries.get, NOW, members=lambda s: [member])
    assert start.entry is not None and start.consent_action == "OPT_IN"
    event = consent_event(start.entry, NOW - 5, message("START"), start)
    [own] = [consent_event(e, NOW - 5, message("START"), start) for e in start.lifted]
    assert event["scope"] == "brand:acme" and own["scope"] == "number:+12125550199"
    assert own["event_id"] == event["event_id"] == "m-1:OPT_IN"
    assert own["action"] == "OPT_IN" and own["business_number"] == "+12125550100"
    assert {k: v for k, v in own.items() if k != "scope"} == {
        k: v for k, v in event.items() if k != "scope"
    }
