"""Reply texts: the defaults per intent and language, a number's own texts, and the compliance
checks a number's texts must pass (CTIA handbook, FCC 2024 order, Canadian guidelines)."""

from __future__ import annotations

import re

from optout.streams.rules.keywords import DEFAULT_OPT_OUT, Intent, normalise
from optout.streams.rules.segments import segments

__all__ = [
    "BILINGUAL",
    "DEFAULT_TEMPLATES",
    "KNOWN_REPLIES",
    "LANGUAGES",
    "MARKETING",
    "MAX_CANADIAN_REPLY_SEGMENTS",
    "OPT_OUT_WORDS",
    "RATES_NOTICE",
    "reply_key",
    "reply_problems",
    "reply_text",
]

MAX_CANADIAN_REPLY_SEGMENTS = 1
LANGUAGES = ("en", "fr", "es")
BILINGUAL = "en+fr"  # INFO in Canada: one reply, English then French

DEFAULT_TEMPLATES: dict[Intent, dict[str, str]] = {
    Intent.OPT_OUT: {
        "en": "{brand}: You are unsubscribed and will receive no more messages. "
        "Reply START to resubscribe.",
        "fr": "{brand}: Vous etes desabonne et ne recevrez plus de messages. "
        "Repondez START pour vous reabonner.",
        "es": "{brand}: Se ha dado de baja y no recibira mas mensajes. "
        "Responda START para volver a suscribirse.",
    },
    Intent.OPT_IN: {
        "en": "{brand}: You are resubscribed. Msg&data rates may apply. "
        "Reply HELP for help, STOP to opt out.",
        "fr": "{brand}: Vous etes reabonne. Des frais de msg et donnees peuvent s'appliquer. "
        "Repondez ARRET pour vous desabonner.",
        "es": "{brand}: Se ha vuelto a suscribir. Pueden aplicarse tarifas de msj y datos. "
        "Responda ALTO para darse de baja.",
    },
    Intent.HELP: {
        "en": "{brand}: Help at {contact}. Msg&data rates may apply. Reply STOP to opt out.",
        "fr": "{brand}: Aide: {contact}. Des frais de msg et donnees peuvent s'appliquer. "
        "Repondez ARRET pour vous desabonner.",
        "es": "{brand}: Ayuda: {contact}. Pueden aplicarse tarifas de msj y datos. "
        "Responda ALTO para darse de baja.",
        BILINGUAL: "{brand}: Help/Aide {contact}. Msg&data rates may apply/Frais msg "
        "possibles. Reply STOP/Repondez ARRET to opt out.",
    },
}

# What a HELP reply must say about costs, by language: any one of these (the US wording and
# the Canadian one, "Std msg rates may apply").
RATES_NOTICE = {
    "en": ("MSG&DATA RATES MAY APPLY", "MSG & DATA RATES MAY APPLY", "STD MSG RATES MAY APPLY"),
    "fr": ("FRAIS DE MSG",),
    "es": ("TARIFAS DE MSJ",),
    BILINGUAL: ("MSG&DATA RATES MAY APPLY", "STD MSG RATES MAY APPLY"),
}
# An opt-out confirmation confirms, and sells nothing (CTIA): no offers, prices or links.
MARKETING = re.compile(
    r"\b(SALE|SALES|DISCOUNT|DEALS?|OFFERS?|PROMO|PROMOTION|COUPON|FREE|SHOP|BUY|SAVE|WIN)\b"
    r"|\d+ ?% ?OFF\b|HTTPS?://|WWW\.|\$ ?\d"
)
OPT_OUT_WORDS = frozenset(DEFAULT_OPT_OUT)


def reply_key(intent: Intent, language: str) -> str:
    """How a number's own reply text is named in its settings, e.g. `opt_out.fr`."""
    return f"{intent.value.lower()}.{language}"


def reply_text(
    intent: Intent,
    language: str,
    brand: str,
    contact: str,
    custom: dict[str, str] | None = None,
) -> str:
    """The number's own text for the intent and language, else the default (English if none)."""
    template = (custom or {}).get(reply_key(intent, language))
    if template is None:
        by_language = DEFAULT_TEMPLATES[intent]
        template = by_language.get(language, by_language["en"])
    return template.format(brand=brand, contact=contact)


KNOWN_REPLIES = frozenset(
    f"{intent.value.lower()}.{language}"
    for intent, by_language in DEFAULT_TEMPLATES.items()
    for language in by_language
)


def reply_problems(brand: str, contact: str, custom: dict[str, str], canadian: bool) -> list[str]:
    """Why a number's reply settings would be non-compliant; empty when they comply."""
    problems = [f"unknown reply name {key!r}" for key in custom if key not in KNOWN_REPLIES]
    if not brand.strip():
        problems.append("brand_name is empty: every reply must name the brand")
    if not contact.strip():
        problems.append("help_contact is empty: a HELP reply must say how to reach the business")
    for intent, by_language in DEFAULT_TEMPLATES.items():
        for language in by_language:
            key = reply_key(intent, language)
            try:
                text = reply_text(intent, language, brand, contact, custom)
            except (KeyError, IndexError, ValueError) as exc:
                problems.append(f"{key}: bad placeholder {exc} (use {{brand}} and {{contact}})")
                continue
            problems += [f"{key}: {p}" for p in _text_problems(text, brand)]
            if intent is Intent.HELP:
                problems += [f"{key}: {p}" for p in _help_problems(language, text, contact)]
            if intent is Intent.OPT_OUT:
                problems += [f"{key}: {p}" for p in _marketing(text, brand)]
            encoding, count = segments(text)
            if canadian and count > MAX_CANADIAN_REPLY_SEGMENTS:
                problems.append(
                    f"{key}: {count} SMS segments ({len(text)} characters in {encoding}); a "
                    "Canadian number's replies must fit in one"
                )
    return problems


def _text_problems(text: str, brand: str) -> list[str]:
    if not text.strip():
        return ["empty reply"]
    if brand.strip() and brand.strip().upper() not in text.upper():
        return [f"does not name the brand {brand!r}"]
    return []


def _help_problems(language: str, text: str, contact: str) -> list[str]:
    problems = []
    if contact.strip() and contact.strip() not in text:
        problems.append(f"does not give the contact {contact!r}")
    if not any(notice in text.upper() for notice in RATES_NOTICE[language]):
        problems.append(f"does not say {RATES_NOTICE[language][0]!r}")
    if OPT_OUT_WORDS.isdisjoint(normalise(text).split()):
        problems.append("does not say how to opt out (e.g. 'Reply STOP to opt out')")
    return problems


def _marketing(text: str, brand: str) -> list[str]:
    found = MARKETING.search(text.upper().replace(brand.upper(), "") if brand else text.upper())
    if found is None:
        return []
    return [f"an opt-out confirmation may not market anything ({found.group(0).strip()!r})"]
