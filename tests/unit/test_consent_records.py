"""Consent records from outside the messages (rules/consent_records.py): lines read into commands
or refused with the reason, each change counting from when it happened, deactivations in the
scope of every number, recorded consent before marketing, and a carrier's error codes."""

from __future__ import annotations

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from optout.schemas import RELEASED_DIR, Record
from optout.streams.rules.consent_records import (
    ALREADY,
    LATER,
    LIFT,
    NEW_BLOCK,
    OPT_IN_RECORDED,
    carrier_command,
    deactivation_command,
    import_command,
    opt_in_command,
    outcome,
    parse_time,
)
from optout.streams.rules.decide import decide
from optout.streams.rules.gate import REJECT, gate_verdict
from optout.streams.rules.kinds import DEFAULT, kinds_of_brand
from optout.streams.rules.number_settings import default_settings, scope_settings
from optout.streams.rules.retry_schedule import error_code
from optout.streams.rules.scopes import ALL_NUMBERS, consent
from optout.streams.rules.validate import command_problems

NUMBER, USER = "+12125550100", "+14155550100"
NOW = parse_time("2026-12-05T12:00:00Z")
SETTINGS = default_settings(NUMBER)
OWN = f"number:{NUMBER}"


def line(**fields: str) -> dict:
    return {"number": NUMBER, "user": USER, "action": "opt_out", "at": "2024-01-01",
            "source": "crm"} | fields  # fmt: skip


def command(**fields: str) -> Record:
    made, problem = import_command(line(**fields), "list.csv:2", "ops", NOW)
    assert made is not None, problem
    return made


class Entries(dict):
    """The end user's entries by scope, written as the manage agent writes them."""

    def apply(self, made: Record, settings: Record = SETTINGS, kinds=DEFAULT) -> str:  # type: ignore[no-untyped-def]
        result, written = outcome(made, settings, self.get, kinds, NOW)
        for entry in written:
            self[entry["scope"]] = entry
        return result


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"user": "4155550100"}, "E.164"),
        ({"number": "acme"}, "E.164"),
        ({"number": "team:acme"}, "brand:ID"),
        ({"action": "remove"}, "opt_out or opt_in"),
        ({"at": "yesterday"}, "ISO 8601"),
        ({"at": "2099-01-01"}, "in the future"),
        ({"kind": "Promo!"}, "lowercase"),
        ({"at": ""}, "no at"),
        ({"note": "x" * 3000}, "longer than"),
        ({"at": "9999-12-31T23:59:59+00:00"}, "in the future"),
        ({"at": "99999-01-01"}, "ISO 8601"),
        ({"action": "opt_in", "at": "2026-12-05T12:00:01Z"}, "in the future"),
    ],
)
def test_a_line_that_cannot_be_applied_is_refused_with_the_reason(fields: dict, reason: str):
    made, problem = import_command(line(**fields), "list.csv:9", "ops", NOW)
    assert made is None and problem is not None and reason in problem


def test_json_lines_carry_text_only():
    made, problem = import_command(line(at=20240101), "x.jsonl:1", "ops", NOW)  # type: ignore[arg-type]
    assert made is None and problem == "at must be text"


def test_times_are_utc_unless_they_say_otherwise_and_a_date_can_mean_its_whole_day():
    assert parse_time("2024-01-01") == parse_time("2024-01-01T00:00:00Z")
    assert parse_time("20240101", whole_day_until_end=True) == parse_time("2024-01-02") - 1
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("9999-12-31", whole_day_until_end=True)
    assert parse_time("2024-01-01T02:00:00+02:00") == parse_time("2024-01-01T00:00:00")
    assert parse_time("2024-01-01", whole_day_until_end=True) == parse_time("2024-01-02") - 1


def test_a_lines_id_is_what_it_says_not_where_it_is():
    first = import_command(line(), "a.csv:2", "ops", NOW)[0]
    moved = import_command(line(), "b.csv:90", "ops", NOW)[0]
    later = import_command(line(at="2024-01-02"), "a.csv:2", "ops", NOW)[0]
    assert first and moved and later
    assert first["command_id"] == moved["command_id"] != later["command_id"]
    assert first["origin"] == "a.csv:2"
    # A bare date: an opt-out counts from the end of the day, an opt-in from its start.
    assert first["requested_at"] == parse_time("2024-01-02") - 1
    assert command(action="opt_in")["requested_at"] == parse_time("2024-01-01")


def test_importing_twice_changes_nothing_and_lines_count_from_their_own_time():
    entries = Entries()
    lines = [command(), command(action="opt_in", at="2024-03-01", source="paper")]
    assert [entries.apply(c) for c in lines] == [NEW_BLOCK, LIFT]
    assert [entries.apply(c) for c in lines] == [LATER, ALREADY]
    opted_in = entries[OWN]
    assert not opted_in["blocked"] and opted_in["since"] == parse_time("2024-03-01")
    assert opted_in["opt_in"]["method"] == "paper" and opted_in["origin"] == "list.csv:2"
    # In the other order, the same end: the opt-in is later, so the block changes nothing.
    reversed_entries = Entries()
    assert [reversed_entries.apply(c) for c in reversed(lines)] == [OPT_IN_RECORDED, LATER]
    assert reversed_entries[OWN]["blocked"] is False


def stop(received_at: int) -> Record:
    message = {"message_id": f"m-{received_at}", "channel": "SMS", "from_number": USER,
               "to_number": NUMBER, "text": "STOP", "media_urls": [], "received_at": received_at,
               "carrier": None}  # fmt: skip
    return message


def test_a_block_and_an_opt_in_at_the_same_time_end_blocked_in_either_order():
    pair = [command(at="2024-05-01T10:00:00Z"),
            command(action="opt_in", at="2024-05-01T10:00:00Z")]  # fmt: skip
    for lines in (pair, pair[::-1]):
        entries = Entries()
        for made in lines:
            entries.apply(made)
        assert entries[OWN]["blocked"], lines
        assert [entries.apply(made) for made in lines] in ([ALREADY, LATER], [LATER, ALREADY])


def test_a_number_scope_line_is_the_numbers_own_consent_scope_when_applied():
    brand_member = SETTINGS | {"scope": "brand:acme", "brand_id": "acme"}
    made = command(number=f"number:{NUMBER}", action="opt_in", at="2026-01-01")
    assert made["business_number"] == NUMBER and made["scope"] is None
    blocked_there = {"business_number": NUMBER, "end_user_number": USER, "scope": "brand:acme",
                     "blocked": True, "since": NOW - 10, "received_at": NOW - 10,
                     "message_id": "m-stop", "source": "keyword", "keyword": "STOP"}  # fmt: skip
    entries = Entries({"brand:acme": blocked_there})
    assert entries.apply(made, brand_member) == LATER  # the STOP to the brand is later


def test_an_opt_out_of_a_kind_the_brand_does_not_declare_blocks_every_kind():
    kinds = kinds_of_brand({"kinds": ["marketing", "informational"], "kind_aware": True})
    entries = Entries()
    entries.apply(command(kind="promos"), kinds=kinds)
    assert entries[OWN]["allowed_kinds"] == []


def test_a_later_keyword_wins_over_an_imported_line_never_the_other_way():
    entries = Entries()
    entries.apply(command(action="opt_in", at="2025-01-01"))
    stopped = decide(stop(NOW - 1000), SETTINGS, entries.get, NOW)
    assert stopped.entry is not None and stopped.entry["blocked"]  # a STOP after the opt-in
    entries[OWN] = stopped.entry
    assert entries.apply(command(action="opt_in", at="2025-06-01")) == LATER
    assert entries.apply(command(action="opt_in", at="2026-12-05T11:59:58.999Z")) == LATER
    assert entries.apply(command(action="opt_in", at="2026-12-05T11:59:59.001Z")) == LIFT


def test_a_start_records_an_opt_in_by_keyword():
    entries = Entries()
    entries.apply(command())
    start = stop(NOW - 10) | {"text": "START", "message_id": "m-start"}
    started = decide(start, SETTINGS, entries.get, NOW)
    assert started.entry is not None and started.consent_action == "OPT_IN"
    assert started.entry["opt_in"]["method"] == "keyword"
    assert started.entry["opt_in"]["opt_in_id"] == "m-start"


def test_an_imported_opt_out_of_one_kind_lets_the_others_through_and_never_widens_a_block():
    kinds = kinds_of_brand({"kinds": ["marketing", "informational"], "kind_aware": True})
    entries = Entries()
    assert entries.apply(command(kind="marketing"), kinds=kinds) == NEW_BLOCK
    assert entries[OWN]["allowed_kinds"] == ["informational"]
    assert entries.apply(command(at="2024-02-01"), kinds=kinds) == NEW_BLOCK  # now everything
    assert entries[OWN]["allowed_kinds"] == []
    assert entries.apply(command(kind="marketing", at="2024-03-01"), kinds=kinds) == ALREADY


def test_a_scope_line_names_no_number_and_is_checked_as_a_scope():
    made = command(number="brand:acme")
    assert made["business_number"] == "" and made["scope"] == "brand:acme"
    assert command_problems(made) == []
    entries = Entries()
    assert entries.apply(made, scope_settings("brand:acme")) == NEW_BLOCK
    assert entries["brand:acme"]["blocked"]


def deactivated(day: str = "2026-11-30") -> Record:
    made, problem = deactivation_command({"number": USER, "date": day}, "d.csv:2", "ops", NOW)
    assert made is not None, problem
    return made


def test_a_deactivation_blocks_at_every_number_until_an_opt_in_given_after_it():
    made = deactivated()
    assert made["scope"] == ALL_NUMBERS and command_problems(made) == []
    entries = Entries()
    entries.apply(command(action="opt_in", at="2026-11-01"))  # the former owner's consent
    assert entries.apply(made, scope_settings(ALL_NUMBERS)) == NEW_BLOCK
    for settings in (SETTINGS, default_settings("+13125550100")):
        assert consent(settings, entries.get).blocked
    assert entries.apply(deactivated(), scope_settings(ALL_NUMBERS)) == ALREADY
    # An opt-in given on the day of the deactivation is the former owner's: it changes nothing.
    on_the_day = opt_in(at="2026-11-30T18:00:00Z")
    assert entries.apply(on_the_day) == LATER
    assert entries.apply(opt_in(at="2026-12-01T09:00:00Z")) == LIFT
    assert not consent(SETTINGS, entries.get).blocked
    assert consent(default_settings("+13125550100"), entries.get).blocked
    # Deactivated again later: the new owner's opt-in no longer counts.
    assert entries.apply(deactivated("2026-12-04"), scope_settings(ALL_NUMBERS)) == NEW_BLOCK
    assert consent(SETTINGS, entries.get).blocked


def test_only_a_deactivation_writes_in_the_scope_of_every_number():
    sneaky = command() | {"scope": ALL_NUMBERS, "business_number": ""}
    assert command_problems(sneaky) == [
        "only a deactivation changes the scope of every number (all)"
    ]


def opt_in(**fields: object) -> Record:
    body = {"number": NUMBER, "user": USER, "method": "web", "kinds": ["marketing"],
            "disclosure_text": "Msg & data rates may apply", "disclosure_version": "v3",
            "page": "https://acme.example/join", "client_address": "203.0.113.7"}  # fmt: skip
    body |= fields
    made, problem = opt_in_command(body, "ops", NOW)
    assert made is not None, problem
    return made


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"method": "fax"}, "method 'fax'"),
        ({"disclosure_text": None}, "no disclosure_text"),
        ({"method": "paper"}, "for a web form"),
        ({"kinds": "marketing"}, "a list of kind names"),
        ({"user": "+1"}, "E.164"),
        ({"kinds": ""}, "a list of kind names"),
        ({"at": "2099-01-01"}, "in the future"),
    ],
)
def test_an_opt_in_without_what_a_dispute_asks_for_is_refused(fields: dict, reason: str):
    body = {"number": NUMBER, "user": USER, "method": "web", "kinds": [],
            "disclosure_text": "Terms", "disclosure_version": "v1"} | fields  # fmt: skip
    if fields.get("method") == "paper":
        body["page"] = "https://acme.example/join"
    made, problem = opt_in_command(body, "ops", NOW)
    assert made is None and problem is not None and reason in problem


def test_recorded_consent_lets_marketing_through_only_on_an_opt_in_for_it():
    recorded = kinds_of_brand({"kinds": ["marketing", "alerts:informational"],
                               "recorded_consent": True})  # fmt: skip
    send = {"message_id": "s-1", "from_number": NUMBER, "to_number": USER, "text": "Sale",
            "channel": "SMS", "media_urls": [], "category": "marketing"}  # fmt: skip
    entries = Entries()
    none_yet = consent(SETTINGS, entries.get)
    verdict = gate_verdict(send, none_yet, None, NOW, recorded)
    assert verdict.action == REJECT and "no recorded opt-in for marketing" in (verdict.reason or "")
    assert (
        gate_verdict(send | {"category": "alerts"}, none_yet, None, NOW, recorded).action != REJECT
    )
    assert gate_verdict(send, none_yet, None, NOW).action != REJECT  # the brand did not ask
    entries.apply(opt_in(kinds=["alerts"], at="2026-12-05T10:00:00Z"), kinds=recorded)
    assert recorded.blocked(consent(SETTINGS, entries.get), "marketing")
    entries.apply(opt_in(at="2026-12-05T11:00:00Z"), kinds=recorded)
    now = consent(SETTINGS, entries.get)
    assert not recorded.blocked(now, "marketing") and not recorded.blocked(now, None)
    assert recorded.opt_in_for(now, "marketing")["disclosure_version"] == "v3"  # type: ignore[index]
    assert gate_verdict(send, now, None, NOW, recorded).action != REJECT


def test_a_carriers_error_code_is_read_from_its_json_answer():
    assert error_code('{"code": 21610, "message": "unsubscribed"}') == "21610"
    assert error_code('{"errors": [{"code": "40300", "title": "Blocked due to STOP"}]}') == "40300"
    assert error_code('{"error_code": "X1"}') == "X1"
    assert error_code("Bad Request") is None
    assert error_code('{"code": true}') is None
    send = {"message_id": "s-9", "from_number": NUMBER, "to_number": USER}
    made = carrier_command(send, "21610", NOW)
    assert command_problems(made) == [] and made["source"] == "carrier"
    assert made["origin"] == "send s-9"


@pytest.mark.parametrize(
    ("contract", "older", "newest"),
    [("optout_event", ["v1", "v2"], "v3"), ("send_result", ["v1"], "v2")],
)
def test_consumers_on_earlier_contracts_read_the_new_records(
    contract: str, older: list[str], newest: str
) -> None:
    """optout_event v3 (opt_in, origin) and send_result v2 (opt_in_id) add fields with
    defaults: a consumer on an earlier version reads the new records."""
    written = avro.schema.parse((RELEASED_DIR / f"{contract}.{newest}.avsc").read_text())
    for version in older:
        reader = avro.schema.parse((RELEASED_DIR / f"{contract}.{version}.avsc").read_text())
        result = ReaderWriterCompatibilityChecker().get_compatibility(reader, written)
        assert result.compatibility is SchemaCompatibilityType.compatible, (contract, version)
