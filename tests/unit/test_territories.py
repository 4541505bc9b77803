"""US territories on the North American plan are the USA for this service (the TCPA applies
there): Puerto Rico, the US Virgin Islands, Guam, the Northern Marianas and American Samoa get
keyword handling with US English replies, US holidays, and quiet hours in their own zone; other
+1 countries are only forwarded."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from optout.streams.rules.decide import decide
from optout.streams.rules.gate import ALLOW, HOLD, gate_verdict
from optout.streams.rules.keywords import Intent
from optout.streams.rules.quiet_hours import next_opening, parse_window, recipient_zones
from optout.streams.rules.regions import (
    STATES_AND_PROVINCES,
    area_codes_of,
    area_codes_of_usa_and_canada,
    country_of,
    in_us_territory,
    in_usa_or_canada,
    is_canadian,
)
from optout.streams.rules.review import business_deadline
from optout.streams.rules.scopes import Consent

NOW = 1_790_000_000_000
TERRITORIES = [  # a fiction line (555-0100) of each territory's area codes, and its zone
    ("+17875550100", "PR", "America/Puerto_Rico"),
    ("+19395550100", "PR", "America/Puerto_Rico"),
    ("+13405550100", "VI", "America/St_Thomas"),
    ("+16715550100", "GU", "Pacific/Guam"),
    ("+16705550100", "MP", "Pacific/Saipan"),
    ("+16845550100", "AS", "Pacific/Pago_Pago"),
]
FOREIGN = [  # +1, but other countries: only forwarded
    "+18765550100",  # Jamaica
    "+12425550100",  # the Bahamas
    "+18095550100",  # the Dominican Republic
    "+14415550100",  # Bermuda
    "+18685550100",  # Trinidad and Tobago
]
SETTINGS = {
    "number": "+17875550100", "enabled": True, "brand_name": "Acme",
    "help_contact": "help@acme.test", "webhook_url": None, "extra_opt_out_keywords": [],
    "extra_opt_in_keywords": [], "extra_help_keywords": [], "removed_keywords": [],
    "replies": {}, "updated_at": 0,
}  # fmt: skip


def message(text: str, to: str) -> dict:
    return {
        "message_id": "m-1", "channel": "SMS", "from_number": "+14155550100", "to_number": to,
        "text": text, "media_urls": [], "received_at": NOW - 5, "carrier": None,
    }  # fmt: skip


def decided(text: str, to: str, entry: dict | None = None):  # type: ignore[no-untyped-def]
    return decide(message(text, to), SETTINGS | {"number": to}, lambda scope: entry, NOW)


def at(iso: str) -> int:
    return int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(("number", "country", "zone"), TERRITORIES)
def test_a_territory_number_is_the_usa(number: str, country: str, zone: str) -> None:
    assert country_of(number) == country
    assert in_usa_or_canada(number) and in_us_territory(number) and not is_canadian(number)


@pytest.mark.parametrize(("number", "country", "zone"), TERRITORIES)
def test_stop_to_a_territory_number_blocks_and_confirms_in_us_english(
    number: str, country: str, zone: str
) -> None:
    stop = decided("STOP", number)
    assert stop.classification.rule != "outside_usa_canada"
    assert stop.consent_action == "OPT_OUT" and stop.entry_changed and stop.sender_blocked
    assert stop.reply_language == "en"
    assert stop.reply_text == (
        "Acme: You are unsubscribed and will receive no more messages. Reply START to resubscribe."
    )
    assert stop.entry is not None and stop.entry["business_number"] == number
    start = decided("START", number, stop.entry | {"message_id": "m-0", "since": NOW - 1000})
    assert start.consent_action == "OPT_IN" and not start.sender_blocked


@pytest.mark.parametrize(("number", "country", "zone"), TERRITORIES)
def test_help_and_info_to_a_territory_number_are_answered_in_english_alone(
    number: str, country: str, zone: str
) -> None:
    for text in ("HELP", "INFO"):
        helped = decided(text, number)
        assert helped.classification.intent is Intent.HELP
        assert helped.reply_language == "en"  # not Canada's English and French
        assert helped.reply_text == (
            "Acme: Help at help@acme.test. Msg&data rates may apply. Reply STOP to opt out."
        )


@pytest.mark.parametrize("number", FOREIGN)
def test_other_plus_one_countries_are_still_only_forwarded(number: str) -> None:
    assert not in_usa_or_canada(number) and not in_us_territory(number)
    stop = decided("STOP", number)
    assert stop.classification.rule == "outside_usa_canada"
    assert stop.reply_text is None and not stop.entry_changed and stop.consent_action is None


@pytest.mark.parametrize(("number", "country", "zone"), TERRITORIES)
def test_quiet_hours_of_a_territory_number_are_its_own_zone(
    number: str, country: str, zone: str
) -> None:
    assert recipient_zones(number) == (ZoneInfo(zone),)


@pytest.mark.parametrize(
    ("number", "opens_at_utc"),
    [
        ("+17875550100", "2026-12-02T12:00"),  # UTC-4: 08:00 in San Juan
        ("+13405550100", "2026-12-02T12:00"),  # UTC-4: 08:00 in St Thomas
        ("+16715550100", "2026-12-02T22:00"),  # UTC+10: 08:00 the next day in Hagåtña
        ("+16705550100", "2026-12-02T22:00"),  # UTC+10: 08:00 the next day in Saipan
        ("+16845550100", "2026-12-02T19:00"),  # UTC-11: 08:00 in Pago Pago
    ],
)
def test_a_send_to_a_territory_waits_for_eight_in_the_morning_there(
    number: str, opens_at_utc: str
) -> None:
    window = parse_window("08:00-21:00")
    early = at("2026-12-02T11:30")  # 07:30 in San Juan, 21:30 in Guam, 00:30 in Pago Pago
    assert next_opening(window, number, early) == at(opens_at_utc)
    assert next_opening(window, number, at(opens_at_utc)) is None


def test_american_samoa_is_judged_in_its_own_zone_not_from_newfoundland_to_hawaii() -> None:
    # 06:00 UTC: 19:00 in Pago Pago (open), 02:30 in St John's (closed).
    send = message("Sale!", "+16845550100") | {"reference": None, "category": None}
    not_blocked = Consent(False, None, "number:+18005550100")
    assert gate_verdict(send, not_blocked, "08:00-21:00", at("2026-12-03T06:00")).action == ALLOW
    assert gate_verdict(send, not_blocked, "08:00-21:00", at("2026-12-03T09:00")).action == HOLD


@pytest.mark.parametrize(("number", "country", "zone"), TERRITORIES)
def test_a_review_deadline_at_a_territory_number_counts_us_holidays(
    number: str, country: str, zone: str
) -> None:
    # From Friday 20 November 2026: US Thanksgiving (26th) is skipped; Canada's was in October.
    received = at("2026-11-20T15:00")
    assert business_deadline(received, number) == at("2026-12-07T23:59:59.999")
    assert business_deadline(received, "+14165550100") == at("2026-12-04T23:59:59.999")


def test_benchmark_numbers_keep_the_area_codes_of_the_states_and_provinces() -> None:
    """Benchmarks number their senders from the states' and provinces' area codes, as before the
    territories counted as the USA, so their number sequences (and results) stay comparable."""
    territories = {"340", "670", "671", "684", "787", "939"}
    bench = area_codes_of(STATES_AND_PROVINCES)
    assert len(bench) == 433 and not territories & set(bench)
    assert set(area_codes_of_usa_and_canada()) == set(bench) | territories
