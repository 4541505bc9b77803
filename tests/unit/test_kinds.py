"""Kinds of message (rules/kinds.py): what a STOP blocks, the clarification and its answers, and
decide() applying them."""

from __future__ import annotations

import json

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from optout.schemas import AvroSerde
from optout.streams.rules.decide import consent_event, decide, decide_manual
from optout.streams.rules.kinds import (
    CLARIFICATION,
    DEFAULT,
    LastSend,
    clarification_answer,
    clarification_text,
    kind_problems,
    kinds_of_brand,
)
from optout.streams.rules.number_settings import default_brand, updated_brand
from optout.streams.rules.scopes import Consent
from optout.streams.rules.segments import segments
from tests.unit.test_decide import NOW, SETTINGS, message
from tests.unit.test_schemas import RELEASED_DIR

AWARE = kinds_of_brand(
    {"kinds": ["marketing", "informational", "alerts:informational", "fraud:exempt"],
     "kind_aware": True}
)  # fmt: skip
CLARIFYING = kinds_of_brand({"kinds": [], "clarify": True, "clarify_window_hours": 2})
PROMO = LastSend("marketing", "send-1", NOW - 60_000)
ALERT = LastSend("alerts", "send-2", NOW - 60_000)


def only(entry):  # type: ignore[no-untyped-def]
    """Entries by scope: `entry` in its own scope, none elsewhere (as in the scope of every
    number)."""
    return lambda scope: entry if scope == f"number:{entry['business_number']}" else None


def blocking(allowed: list[str]) -> Consent:
    return Consent(True, {"blocked": True, "allowed_kinds": allowed}, "number:+12125550100")


def test_a_brand_that_set_nothing_blocks_every_kind_with_every_stop() -> None:
    assert kinds_of_brand(None) == DEFAULT == kinds_of_brand(default_brand("acme"))
    assert DEFAULT.after_stop("marketing") == ([], False)
    assert DEFAULT.kind_of({"category": None}) == "marketing"  # the safe default
    for kind in ("marketing", "informational", "anything", None):
        assert DEFAULT.blocked(blocking([]), kind)
        assert not DEFAULT.blocked(Consent(False, None, "number:+1"), kind)


def test_a_kind_aware_stop_after_marketing_keeps_the_informational_kinds() -> None:
    assert AWARE.after_stop("marketing") == (["informational", "alerts"], False)
    assert AWARE.after_stop("alerts") == ([], False)  # informational: everything
    assert AWARE.after_stop(None) == ([], False)  # no send known: everything
    assert AWARE.after_stop("unknown-kind") == ([], False)
    narrowed = blocking(["informational", "alerts"])
    assert AWARE.blocked(narrowed, "marketing") and not AWARE.blocked(narrowed, "alerts")
    assert AWARE.blocked(narrowed, "promos")  # a kind declared later: blocked
    assert AWARE.blocked(narrowed, None)  # any kind: marketing is
    assert not AWARE.blocked(blocking([]), "fraud")  # exempt


def test_with_the_clarification_a_stop_blocks_everything_and_asks() -> None:
    assert CLARIFYING.after_stop("marketing") == ([], True)
    assert CLARIFYING.clarify_window_ms == 2 * 3_600_000
    nothing_to_keep = kinds_of_brand({"kinds": ["marketing"], "clarify": True})
    assert nothing_to_keep.after_stop("marketing") == ([], False)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("ALL", []), ("all.", []), ("Tout", []), ("todo", []),
        ("informational", ["informational"]),
        ("ALERTS and informational", ["alerts", "informational"]),
        ("keep alerts", ["alerts"]), ("alerts, alerts", ["alerts"]),
        ("STOP", None), ("marketing", None), ("fraud", None), ("", None), ("all alerts", None),
    ],
)  # fmt: skip
def test_answers_to_the_clarification(text: str, kept: list[str] | None) -> None:
    assert clarification_answer(text, AWARE) == kept


def test_a_kind_named_with_a_hyphen_is_answered_as_written_or_spaced() -> None:
    kinds = kinds_of_brand({"kinds": ["marketing", "account-alerts:informational"]})
    for text in ("ACCOUNT-ALERTS", "account alerts"):
        assert clarification_answer(text, kinds) == ["account-alerts"]


def test_the_default_clarification_fits_one_segment_in_every_language() -> None:
    for language in CLARIFICATION:
        text = clarification_text(language, "Acme Pharmacy", CLARIFYING)
        assert segments(text) == ("GSM-7", 1), text
        assert "INFORMATIONAL" in text and "Acme Pharmacy" in text


def test_kind_settings_are_checked() -> None:
    assert kind_problems(default_brand("acme")) == []
    assert "say whether promos is marketing" in kind_problems({"kinds": ["promos"]})[0]
    assert "lowercase" in kind_problems({"kinds": ["Promos:marketing"]})[0]
    assert "twice" in kind_problems({"kinds": ["marketing", "marketing"]})[0]
    assert "at least one marketing" in kind_problems({"kinds": ["informational"]})[0]
    assert "default kind 'x'" in kind_problems({"kinds": [], "default_kind": "x"})[0]
    assert "clarify_window_hours" in kind_problems({"clarify_window_hours": 0})[0]
    assert "marketing is marketing" in kind_problems({"kinds": ["marketing:exempt"]})[0]
    for word in ("start", "info", "all", "yes"):
        assert (
            "a keyword or an answer word"
            in kind_problems({"kinds": ["marketing", f"{word}:informational"]})[0]
        ), word
    exempt_default = {"kinds": ["marketing", "fraud:exempt"], "default_kind": "fraud"}
    assert "is exempt" in kind_problems(exempt_default)[0]
    record, _, problems = updated_brand(default_brand("acme"), {"kind_aware": 1}, [], NOW)
    assert problems == ["kind_aware must be bool (of strings)"]
    record, _, problems = updated_brand(default_brand("acme"), {"kind_aware": True}, [], NOW)
    assert problems == [] and record["kind_aware"] is True


def test_a_canadian_numbers_clarification_must_fit_one_segment() -> None:
    kinds = [f"kind-number-{n}:informational" for n in range(4)] + ["marketing"]
    canadian = {"number": "+14165550100", "brand_id": "acme", "brand_name": "Acme"}
    changes = {"kinds": kinds, "clarify": True}
    _, _, problems = updated_brand(default_brand("acme"), changes, [canadian], NOW)
    assert problems and "SMS segments" in problems[0] and "+14165550100" in problems[0]
    american = canadian | {"number": "+12125550100"}
    assert updated_brand(default_brand("acme"), changes, [american], NOW)[2] == []


def stop_after(last: LastSend | None, kinds=AWARE, text: str = "STOP", entry=None):
    return decide(message(text), SETTINGS, lambda scope: entry, NOW, None,
                  kinds=kinds, answered=last)  # fmt: skip


def test_decide_a_kind_aware_stop_after_marketing() -> None:
    decision = stop_after(PROMO)
    assert decision.entry is not None and decision.consent_action == "OPT_OUT"
    assert decision.entry["allowed_kinds"] == ["informational", "alerts"]
    assert decision.entry["answered_send"] == PROMO.message_id == "send-1"
    assert decision.entry["answered_kind"] == "marketing"
    event = consent_event(decision.entry, NOW - 5, message("STOP"), decision)
    assert event["kinds"] == ["marketing"] and event["answered_send"] == "send-1"
    after_alert = stop_after(ALERT)
    assert after_alert.entry is not None and after_alert.entry["allowed_kinds"] == []
    assert consent_event(after_alert.entry, 0, message("STOP"), after_alert)["kinds"] == []


def test_decide_a_second_stop_after_an_informational_send_blocks_what_the_first_let_through():
    first = stop_after(PROMO).entry
    again = stop_after(ALERT, entry=first | {"message_id": "m-0", "position": None})
    assert again.entry_changed and again.consent_action == "OPT_OUT"
    assert again.entry is not None and again.entry["allowed_kinds"] == []
    same = stop_after(PROMO, entry=first | {"message_id": "m-0", "confirmed_at": NOW})
    assert not same.entry_changed and same.consent_action is None


def test_decide_the_clarification_and_its_answers() -> None:
    asked = stop_after(PROMO, kinds=CLARIFYING)
    entry = asked.entry
    assert entry is not None and entry["allowed_kinds"] == []
    assert entry["clarify_until"] == message("STOP")["received_at"] + 2 * 3_600_000
    assert asked.reply_text == clarification_text("en", "Acme", CLARIFYING)

    answered = decide(message("informational", "m-2"), SETTINGS, only(entry), NOW, None,
                      kinds=CLARIFYING)  # fmt: skip
    assert answered.classification.rule == "clarification_answer"
    assert answered.entry is not None and answered.entry["allowed_kinds"] == ["informational"]
    assert answered.entry["clarify_until"] == 0 and answered.entry["clarified_by"] == "m-2"
    assert answered.entry["since"] == NOW  # a block made now: former members keep the old one
    assert answered.reply_text is None and answered.consent_action == "OPT_OUT"
    event = consent_event(answered.entry, NOW - 5, message("informational", "m-2"), answered)
    # Still an opt-out (of what stays blocked): history and version-1 readers read it blocked.
    assert (event["action"], event["event_id"], event["kinds"]) == (
        "OPT_OUT", "m-2:OPT_OUT", ["marketing"]
    )  # fmt: skip
    # Read again after a restart: said again, nothing rewritten.
    again = decide(message("informational", "m-2"), SETTINGS, lambda s: answered.entry, NOW,
                   None, kinds=CLARIFYING)  # fmt: skip
    assert not again.entry_changed and again.consent_action == "OPT_OUT"
    assert consent_event(again.entry, NOW - 5, message("informational", "m-2"), again) == event

    everything = decide(message("ALL", "m-3"), SETTINGS, only(entry), NOW, None,
                        kinds=CLARIFYING)  # fmt: skip
    assert everything.entry is not None and everything.entry["allowed_kinds"] == []
    assert everything.entry_changed and everything.consent_action == "OPT_OUT"
    confirmed = consent_event(everything.entry, NOW, message("ALL", "m-3"), everything)
    assert (confirmed["event_id"], confirmed["kinds"]) == ("m-3:OPT_OUT", [])
    late = message("informational", "m-4") | {"received_at": entry["clarify_until"] + 1}
    too_late = decide(late, SETTINGS, only(entry), NOW, None, kinds=CLARIFYING)
    assert not too_late.entry_changed and too_late.classification.rule != "clarification_answer"
    chatter = decide(message("thanks", "m-5"), SETTINGS, only(entry), NOW, None,
                     kinds=CLARIFYING)  # fmt: skip
    assert not chatter.entry_changed and chatter.consent_action is None
    before_the_stop = message("informational", "m-6") | {"received_at": entry["received_at"] - 1}
    early = decide(before_the_stop, SETTINGS, only(entry), NOW, None, kinds=CLARIFYING)
    assert not early.entry_changed  # out of order: no answer to a question not yet asked
    turned_off = decide(message("informational", "m-7"), SETTINGS, only(entry), NOW, None)
    assert not turned_off.entry_changed  # the brand no longer asks: nothing is narrowed


def test_a_narrower_stop_or_answer_never_lets_through_what_an_older_full_block_stops() -> None:
    """A brand-scope number whose own entry blocks every kind from before it joined: a STOP
    answering marketing in the brand, or an answer to the clarification, keeps it all blocked."""
    settings = SETTINGS | {"scope": "brand:acme", "scope_since": NOW - 500}
    own = {"business_number": "+12125550100", "end_user_number": "+14155550100",
           "scope": "number:+12125550100", "blocked": True, "since": NOW - 2000,
           "keyword": "STOP", "message_id": "m-old", "source": "keyword",
           "confirmed_at": NOW - 2000, "allowed_kinds": []}  # fmt: skip
    entries = {"number:+12125550100": own}
    stop = decide(message("STOP"), settings, entries.get, NOW, None, kinds=AWARE, answered=PROMO)
    assert stop.entry is not None and stop.entry["allowed_kinds"] == []
    clarifying = kinds_of_brand({"clarify": True})
    asked = decide(message("STOP"), settings, entries.get, NOW, None, kinds=clarifying).entry
    assert asked is not None
    both = entries | {"brand:acme": asked}
    answer = decide(message("informational", "m-2"), settings, both.get, NOW, None,
                    kinds=clarifying)  # fmt: skip
    assert answer.entry is not None and answer.entry["allowed_kinds"] == []


def test_what_a_block_let_through_is_blocked_again_when_the_brand_changes() -> None:
    narrowed = blocking(["informational", "alerts"])
    assert not AWARE.blocked(narrowed, "alerts")
    plain = kinds_of_brand({"kinds": ["marketing", "informational", "alerts:informational"]})
    assert plain.blocked(narrowed, "alerts")  # kind-aware turned off
    reclassified = kinds_of_brand({"kinds": ["marketing", "alerts:marketing"], "kind_aware": True})
    assert reclassified.blocked(narrowed, "alerts")


def test_a_send_handed_over_after_the_stop_was_received_is_not_what_it_answered() -> None:
    later = LastSend("marketing", "send-9", message("STOP")["received_at"] + 1)
    decision = stop_after(later)
    assert decision.entry is not None and decision.entry["allowed_kinds"] == []
    assert decision.entry["answered_send"] is None


def test_a_hand_made_block_of_a_narrowed_entry_blocks_every_kind() -> None:
    narrowed = stop_after(PROMO).entry
    command = {"command_id": "c-1", "action": "OPT_OUT", "business_number": "+12125550100",
               "end_user_number": "+14155550100", "scope": None, "reason": "by phone",
               "actor": "tester", "requested_at": NOW}  # fmt: skip
    change = decide_manual(command, SETTINGS, only(narrowed), NOW)
    assert change is not None and change.entry["blocked"]
    assert not change.entry.get("allowed_kinds")


def test_a_consumer_on_the_first_event_contract_reads_the_new_events() -> None:
    """optout_event v2 adds the kinds with defaults: old readers read new events, new readers
    old ones (the backward direction is test_schemas' for every contract)."""
    v1 = avro.schema.parse((RELEASED_DIR / "optout_event.v1.avsc").read_text())
    v2_text = (RELEASED_DIR / "optout_event.v2.avsc").read_text()
    result = ReaderWriterCompatibilityChecker().get_compatibility(v1, avro.schema.parse(v2_text))
    assert result.compatibility is SchemaCompatibilityType.compatible
    fields = {f["name"]: f for f in json.loads(v2_text)["fields"]}
    assert {"kinds", "answered_send", "answered_kind"} <= set(fields)
    serde = AvroSerde("optout_event", "optout-events")
    decision = stop_after(PROMO)
    assert decision.entry is not None
    event = consent_event(decision.entry, NOW - 5, message("STOP"), decision)
    assert serde.decode(serde.encode(event)) == event
