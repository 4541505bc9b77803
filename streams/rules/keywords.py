"""The keyword policy: which words mean opt-out, opt-in and help, and how text is normalised.

Rules, in the order they are tried on the normalised text:
- exact_keyword: the whole text is one keyword ("Stop.", "ＳＴＯＰ", "opt-out", "S T O P");
- keyword_with_filler: keywords of one kind plus polite or target words only ("stop please",
  "STOP texting me", "STOP STOP"); an opt-out keyword wins over others ("STOP HELP"); any other
  word makes it an ordinary sentence ("I'll stop by later");
- stop_symbol: a stop sign or no-entry symbol sent alone ("🛑", "⛔");
- negated_revocation: an opt-out word negated ("never stop sending me the deals", "do NOT stop
  these alerts"): not an opt-out, and not worth a review;
- revocation_phrase: an unmistakable opt-out phrase anywhere ("please remove me from your list",
  "I'd rather not get these anymore", "arrêtez de m'écrire", "no me manden más mensajes");
- unclear_revocation: not an opt-out, but a revocation word or phrase is there ("I'll stop by",
  "leave me alone"): forwarded with `review` set so the customer can look.
YES is an opt-in only for a sender who is blocked; the classifier reports it as `yes_if_blocked`
and decide() settles it with the block list.

Pure and free of I/O. Ordinary texts, the vast majority, leave after one set intersection.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "ASCII_WORDS",
    "BILINGUAL_IN_CANADA",
    "COMBINING_MARKS",
    "Classification",
    "DEFAULT_HELP",
    "DEFAULT_KEYWORDS",
    "DEFAULT_OPT_IN",
    "DEFAULT_OPT_OUT",
    "FILLER_WORDS",
    "Intent",
    "KEYWORD_LANGUAGE",
    "KeywordSet",
    "NEGATED",
    "NEGATED_REVOCATION",
    "NOT_A_KEYWORD",
    "OPT_OUT_TARGET_WORDS",
    "PHRASE_LANGUAGE",
    "PHRASE_WORDS",
    "PROTECTED_KEYWORDS",
    "REVOCATION",
    "REVOCATION_PHRASES",
    "RULESET_VERSION",
    "STOP_SYMBOLS",
    "STRONG_REVOCATION_WORDS",
    "UNCLEAR",
    "UNCLEAR_REVOCATION",
    "UNCLEAR_REVOCATION_PHRASES",
    "UNICODE_CLEANUP",
    "YES",
    "classify_text",
    "normalise",
]


# The keyword policy's version, recorded with every change it makes (evidence for disputes).
RULESET_VERSION = "2026-12-03"


class Intent(StrEnum):
    OPT_OUT = "OPT_OUT"
    OPT_IN = "OPT_IN"
    HELP = "HELP"
    NONE = "NONE"


DEFAULT_OPT_OUT = (
    "STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "UNSUB", "CANCEL", "END", "QUIT", "REVOKE",
    "OPTOUT", "OPT OUT", "REMOVE", "ARRET", "ARRETE", "ARRETEZ", "ALTO", "CANCELAR", "PARAR",
    "BAJA",
)  # fmt: skip
DEFAULT_OPT_IN = ("START", "UNSTOP", "RESUME")
DEFAULT_HELP = ("HELP", "INFO", "AIDE", "AYUDA")
# Carriers and the CTIA require these three to work on every number.
PROTECTED_KEYWORDS = frozenset({"STOP", "START", "HELP"})
YES = "YES"

KEYWORD_LANGUAGE = {
    "ARRET": "fr", "ARRETE": "fr", "ARRETEZ": "fr", "AIDE": "fr",
    "ALTO": "es", "CANCELAR": "es", "PARAR": "es", "BAJA": "es", "AYUDA": "es",
}  # fmt: skip
BILINGUAL_IN_CANADA = frozenset({"INFO"})

FILLER_WORDS = frozenset(
    {"PLEASE", "PLS", "PLZ", "THANKS", "THANK", "YOU", "THX", "NOW", "OK", "ME", "MERCI", "SVP"}
)
# Words that only say what to stop: "stop sending me these messages".
OPT_OUT_TARGET_WORDS = frozenset(
    {"TEXTING", "SENDING", "MESSAGING", "TEXT", "TEXTS", "MESSAGE", "MESSAGES", "MSGS", "SMS",
     "THESE", "THIS", "THEM", "ANY", "MORE", "ALL", "IT"}
)  # fmt: skip
REVOCATION_PHRASES = (
    "REMOVE ME", "NO MORE TEXTS", "NO MORE MESSAGES", "OPT OUT", "OPT ME OUT", "TAKE ME OFF",
    "STOP TEXTING", "STOP SENDING", "STOP MESSAGING", "STOP CONTACTING", "UNSUBSCRIBE ME",
    "DO NOT TEXT", "DONT TEXT", "DON T TEXT", "DO NOT CONTACT", "DONT CONTACT", "DON T CONTACT",
    "DO NOT MESSAGE", "DONT MESSAGE", "DON T MESSAGE",
    # polite or indirect
    "RATHER NOT GET", "RATHER NOT RECEIVE", "STOP RECEIVING", "WANT TO UNSUBSCRIBE",
    "LIKE TO UNSUBSCRIBE", "DONT WANT THESE TEXTS", "DONT WANT THESE MESSAGES",
    "DO NOT WANT THESE TEXTS", "DO NOT WANT THESE MESSAGES", "NO LONGER WANT THESE",
    "DONT SEND ME", "DO NOT SEND ME", "DON T SEND ME",
    # French
    "ARRETEZ DE", "ARRETE DE", "DESABONNER", "DESABONNEZ MOI", "DESINSCRIVEZ MOI",
    "NE PLUS RECEVOIR",
    # Spanish
    "NO ME MANDEN", "NO ME ENVIEN", "NO ME ESCRIBAN", "NO MAS MENSAJES", "DAR DE BAJA",
    "DARME DE BAJA",
)  # fmt: skip
PHRASE_LANGUAGE = {
    "ARRETEZ DE": "fr", "ARRETE DE": "fr", "DESABONNER": "fr", "DESABONNEZ MOI": "fr",
    "DESINSCRIVEZ MOI": "fr", "NE PLUS RECEVOIR": "fr",
    "NO ME MANDEN": "es", "NO ME ENVIEN": "es", "NO ME ESCRIBAN": "es", "NO MAS MENSAJES": "es",
    "DAR DE BAJA": "es", "DARME DE BAJA": "es",
}  # fmt: skip
# An opt-out word right after these does not ask to stop: "never stop", "do not stop".
NEGATED = re.compile(
    r"\b(?:NEVER|NOT|DONT|DON T|DO NOT|PLEASE DONT|PLEASE DO NOT) "
    r"(?:STOP|STOPALL|CANCEL|END|QUIT|UNSUBSCRIBE|REMOVE|ARRET|ARRETEZ)\b"
)
# Sent alone, these mean stop: the stop sign, no entry, prohibited (variation selectors aside).
STOP_SYMBOLS = frozenset("\U0001f6d1\u26d4\U0001f6ab")
UNCLEAR_REVOCATION_PHRASES = (
    "LEAVE ME ALONE", "NOT INTERESTED", "WRONG NUMBER", "DONT WANT", "DON T WANT",
    "DO NOT WANT", "NO LONGER", "ENOUGH",
)  # fmt: skip
# Opt-out words that, inside an ordinary sentence, deserve a human look.
STRONG_REVOCATION_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "UNSUB", "OPTOUT", "REVOKE", "ARRET", "CANCELAR", "SPAM"}
)


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(sorted(phrases, key=len, reverse=True)) + r")\b")


REVOCATION = _phrase_pattern(REVOCATION_PHRASES)
UNCLEAR_REVOCATION = _phrase_pattern(UNCLEAR_REVOCATION_PHRASES)
PHRASE_WORDS = frozenset(
    w for p in REVOCATION_PHRASES + UNCLEAR_REVOCATION_PHRASES for w in p.split()[:1]
)

# Letters from other scripts that look like Latin ones ("ЅТОР" must read as STOP), and
# invisible characters (zero-width, byte-order, soft hyphen) that must not split a word.
UNICODE_CLEANUP = str.maketrans(
    "АВСЕНІЈКМОРЅТХУаеіјорсѕухΑΒΕΗΙΚΜΝΟΡΤΥΧοτ",
    "ABCEHIJKMOPSTXYaeijopcsyxABEHIKMNOPTYXot",
    "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\ufeff\u00ad’",
)
COMBINING_MARKS = re.compile("[\u0300-\u036f]")
# One pass over ASCII: letters upper-cased, apostrophes dropped ("don't" is DONT), the rest spaces.
# (bytes.translate is the fastest pass Python has; ordinary texts are mostly ASCII).
ASCII_WORDS = (
    bytes(ord(chr(b).upper()) if chr(b).isalnum() else 32 for b in range(128)) + b" " * 128
)


@dataclass(frozen=True)
class Classification:
    """What a message asks for, and why the classifier thinks so."""

    intent: Intent
    keyword: str | None
    language: str
    rule: str
    review: bool = False


NOT_A_KEYWORD = Classification(Intent.NONE, None, "en", "no_keyword")
NEGATED_REVOCATION = Classification(Intent.NONE, None, "en", "negated_revocation")
UNCLEAR = Classification(Intent.NONE, None, "en", "unclear_revocation", review=True)


@dataclass(frozen=True)
class KeywordSet:
    """The keywords one number answers to: the defaults, plus its own, minus what it removed."""

    intents: dict[str, Intent]
    triggers: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        words = {w for keyword in self.intents for w in keyword.split()}
        triggers = words | PHRASE_WORDS | STRONG_REVOCATION_WORDS | {YES}
        object.__setattr__(self, "triggers", frozenset(triggers))

    @classmethod
    def build(
        cls,
        extra_opt_out: Iterable[str] = (),
        extra_opt_in: Iterable[str] = (),
        extra_help: Iterable[str] = (),
        removed: Iterable[str] = (),
    ) -> KeywordSet:
        """Defaults plus extras minus removed; STOP, START and HELP cannot be removed."""
        gone = {normalise(k) for k in removed} - PROTECTED_KEYWORDS
        intents: dict[str, Intent] = {}
        for intent, keywords in (
            (Intent.HELP, (*DEFAULT_HELP, *extra_help)),
            (Intent.OPT_IN, (*DEFAULT_OPT_IN, *extra_opt_in)),
            (Intent.OPT_OUT, (*DEFAULT_OPT_OUT, *extra_opt_out)),  # last: opt-out wins clashes
        ):
            for keyword in map(normalise, keywords):
                if keyword and keyword not in gone:
                    intents[keyword] = intent
        return cls(intents)


def normalise(text: str) -> str:
    """Upper-case Latin words separated by single spaces: look-alikes, accents and symbols gone."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(UNICODE_CLEANUP)
        if not text.isascii():  # accents off, then anything still not ASCII becomes a space
            text = unicodedata.normalize("NFD", text)
            text = COMBINING_MARKS.sub("", text).encode("ascii", "replace").decode()
    words = text.encode().translate(ASCII_WORDS, b"'").decode().split()
    if len(words) > 2 and all(len(w) == 1 for w in words):  # "S T O P", "s.t.o.p"
        return "".join(words)
    normalised = " ".join(words)
    if "0" in normalised:  # "ST0P": a zero inside a word is an O
        normalised = " ".join(w if w.isdigit() else w.replace("0", "O") for w in words)
    return normalised


DEFAULT_KEYWORDS = KeywordSet.build()


def classify_text(text: str, keywords: KeywordSet = DEFAULT_KEYWORDS) -> Classification:
    """Classify a message by its text alone."""
    normalised = normalise(text)
    words = normalised.split()
    if keywords.triggers.isdisjoint(words):
        return _stop_symbol(text) if not words else NOT_A_KEYWORD
    intent = keywords.intents.get(normalised)
    if intent is not None:
        return _found(intent, normalised, "exact_keyword")
    if normalised == YES:
        return Classification(Intent.OPT_IN, YES, "en", "yes_if_blocked")
    if NEGATED.search(normalised):
        normalised = NEGATED.sub(" ", normalised)
        words = normalised.split()
        if keywords.triggers.isdisjoint(words):
            return NEGATED_REVOCATION
    return (
        _keyword_with_filler(words, keywords)
        or _phrase(REVOCATION, normalised)
        or (UNCLEAR if _unclear(words, normalised) else NOT_A_KEYWORD)
    )


def _found(intent: Intent, keyword: str, rule: str) -> Classification:
    return Classification(intent, keyword, KEYWORD_LANGUAGE.get(keyword, "en"), rule)


def _keyword_with_filler(words: list[str], keywords: KeywordSet) -> Classification | None:
    found = [(w, keywords.intents[w]) for w in words if w in keywords.intents]
    intents = {intent for _, intent in found}
    if not intents or (len(intents) > 1 and Intent.OPT_OUT not in intents):
        return None
    intent = Intent.OPT_OUT if Intent.OPT_OUT in intents else intents.pop()
    allowed = FILLER_WORDS | (OPT_OUT_TARGET_WORDS if intent is Intent.OPT_OUT else frozenset())
    found_words = {w for w, _ in found}
    if any(w not in allowed and w not in found_words for w in words):
        return None
    keyword = next(w for w, i in found if i is intent)
    return _found(intent, keyword, "keyword_with_filler")


def _phrase(pattern: re.Pattern[str], normalised: str) -> Classification | None:
    match = pattern.search(normalised)
    if match is None:
        return None
    phrase = match.group(1)
    return Classification(
        Intent.OPT_OUT, phrase, PHRASE_LANGUAGE.get(phrase, "en"), "revocation_phrase"
    )


def _stop_symbol(text: str) -> Classification:
    symbols = set(text.replace("\ufe0f", "").split()) and set(
        text.replace("\ufe0f", "").replace(" ", "")
    )
    if symbols and symbols <= STOP_SYMBOLS:
        return Classification(Intent.OPT_OUT, "STOP", "en", "stop_symbol")
    return NOT_A_KEYWORD


def _unclear(words: list[str], normalised: str) -> bool:
    return not STRONG_REVOCATION_WORDS.isdisjoint(words) or bool(
        UNCLEAR_REVOCATION.search(normalised)
    )
