"""What a number's settings may say, and what they mean."""

from __future__ import annotations

import pytest

from optout.streams.rules.keywords import Intent, classify_text
from optout.streams.rules.number_settings import (
    default_settings,
    effective_settings,
    keywords_for,
    settings_problems,
)
from optout.streams.rules.templates import reply_text

GOOD = default_settings("+13055550100", brand_name="Acme", help_contact="help@acme.test")


def test_defaults_with_brand_and_contact_comply() -> None:
    assert settings_problems(GOOD) == []
    assert settings_problems(GOOD | {"number": "+12265550100"}) == []  # Canada: one segment each


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"brand_name": ""}, "every reply must name the brand"),
        ({"help_contact": ""}, "a HELP reply must say how to reach the business"),
        ({"replies": {"help.en": "Acme: call help@acme.test. Reply STOP to opt out."}},
         "help.en: does not say 'MSG&DATA RATES MAY APPLY'"),
        ({"replies": {"help.en": "Acme: help@acme.test. Msg&data rates may apply."}},
         "help.en: does not say how to opt out"),
        ({"replies": {"help.en": "Acme: Msg&data rates may apply. Reply STOP to opt out."}},
         "help.en: does not give the contact 'help@acme.test'"),
        ({"replies": {"help.fr": "{brand}: {contact}. Repondez ARRET pour vous desabonner."}},
         "help.fr: does not say 'FRAIS DE MSG'"),
        ({"replies": {"opt_out.en": ""}}, "opt_out.en: empty reply"),
        ({"replies": {"opt_out.en": "You are out."}}, "opt_out.en: does not name the brand"),
        ({"replies": {"opt_out.en": "{brand} {nope}"}}, "opt_out.en: bad placeholder"),
        ({"replies": {"stop.en": "x"}}, "unknown reply name 'stop.en'"),
        ({"removed_keywords": ["stop", "Help"]}, "HELP, STOP cannot be removed"),
        ({"extra_opt_out_keywords": ["!!"]}, "no letters or digits"),
        ({"webhook_url": "ftp://x"}, "not an http(s) URL"),
        ({"number": "12125550000"}, "invalid number: number '12125550000' is not an E.164"),
        ({"number": "+12125550000\n"}, "invalid number: number '+12125550000\\n'"),
    ],
)  # fmt: skip
def test_non_compliant_settings_are_refused_with_a_reason(change: dict, problem: str) -> None:
    problems = settings_problems(GOOD | change)
    assert any(problem in p for p in problems), problems


def test_canadian_replies_must_fit_in_one_sms_segment_as_a_phone_counts_it() -> None:
    body = ("Vous êtes désabonné et ne recevrez plus de messages de notre part. " * 3)[:142]
    french = "{brand}: " + body  # 148 characters once the brand (Acme) is in
    canadian = GOOD | {"number": "+12265550100", "replies": {"opt_out.fr": french}}
    problems = settings_problems(canadian)
    assert any("3 SMS segments (148 characters in UCS-2)" in p for p in problems), problems
    plain = "{brand}: You will receive no more messages. Reply START to resubscribe. " * 2
    assert len(plain.format(brand="Acme")) <= 160  # GSM-7: one segment
    assert settings_problems(canadian | {"replies": {"opt_out.en": plain}}) == []
    assert not any(
        "segments" in p for p in settings_problems(canadian | {"number": GOOD["number"]})
    )


def test_the_canadian_rates_wording_is_accepted() -> None:
    help_en = "{brand}: Help at {contact}. Std msg rates may apply. Reply STOP to opt out."
    assert (
        settings_problems(GOOD | {"number": "+12265550100", "replies": {"help.en": help_en}}) == []
    )


@pytest.mark.parametrize(
    "confirmation",
    ["{brand}: You are unsubscribed. Our SALE ends Sunday!", "{brand}: Unsubscribed. 20% off at "
     "acme.test", "{brand}: Unsubscribed. See https://acme.test/deals"],
)  # fmt: skip
def test_an_opt_out_confirmation_with_marketing_is_refused(confirmation: str) -> None:
    problems = settings_problems(GOOD | {"replies": {"opt_out.en": confirmation}})
    assert any("opt_out.en: an opt-out confirmation may not market" in p for p in problems)


def test_effective_settings_fill_empty_fields_from_defaults() -> None:
    stored = default_settings("+13055550100") | {"enabled": False, "brand_name": "Zeta"}
    effective = effective_settings(stored, GOOD)
    assert effective["enabled"] is False and effective["brand_name"] == "Zeta"
    assert effective["help_contact"] == "help@acme.test"
    assert effective_settings(None, GOOD) is GOOD


def test_keyword_sets_follow_settings_and_protect_the_required_three() -> None:
    keywords = keywords_for(
        GOOD | {"extra_help_keywords": ["menu"], "removed_keywords": ["STOP", "quit"]}
    )
    assert classify_text("MENU", keywords).intent is Intent.HELP
    assert classify_text("quit", keywords).intent is Intent.NONE
    assert classify_text("STOP", keywords).intent is Intent.OPT_OUT
    assert keywords_for(GOOD) is keywords_for(dict(GOOD))  # cached


def test_every_default_reply_is_filled_in() -> None:
    for intent in (Intent.OPT_OUT, Intent.OPT_IN, Intent.HELP):
        for language in ("en", "fr", "es"):
            text = reply_text(intent, language, "Acme", "help@acme.test")
            assert text.startswith("Acme:") and "{" not in text
