"""The keyword policy: which words mean opt-out, opt-in and help, and how text is normalised.

First version (rules in the order they are tried):
- exact_keyword: the whole normalised text is one keyword ("Stop.", "ＳＴＯＰ", "opt-out");
- keyword_with_filler: one kind of keyword plus polite or target words only ("stop please",
  "STOP texting me"); any other word makes it an ordinary sentence ("I'll stop by later");
- revocation_phrase: an unmistakable opt-out phrase anywhere ("please remove me from your list").
Pure and free of I/O, so it is tested exhaustively without a broker.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Intent(StrEnum):
    OPT_OUT = "OPT_OUT"
    OPT_IN = "OPT_IN"
    HELP = "HELP"
    NONE = "NONE"


OPT_OUT_KEYWORDS = frozenset(
    {
        "STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "UNSUB", "CANCEL", "END", "QUIT",
        "REVOKE", "OPTOUT", "OPT OUT", "REMOVE", "ARRET", "ALTO", "CANCELAR",
    }
)  # fmt: skip
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "RESUME"})
# YES re-opts in only a sender who is currently blocked (decided with the block list).
CONDITIONAL_OPT_IN_KEYWORDS = frozenset({"YES"})
HELP_KEYWORDS = frozenset({"HELP", "INFO", "AIDE", "AYUDA"})

FILLER_WORDS = frozenset(
    {"PLEASE", "PLS", "PLZ", "THANKS", "THANK", "YOU", "THX", "NOW", "OK", "ME"}
)
# Words that only say what to stop: "stop sending me these messages".
OPT_OUT_TARGET_WORDS = frozenset(
    {"TEXTING", "SENDING", "MESSAGING", "TEXT", "TEXTS", "MESSAGE", "MESSAGES", "MSGS", "THESE",
     "THIS", "THEM", "ANY", "MORE", "ALL"}
)  # fmt: skip
REVOCATION_PHRASES = (
    "REMOVE ME", "NO MORE TEXTS", "NO MORE MESSAGES", "OPT OUT", "OPT ME OUT", "TAKE ME OFF",
    "STOP TEXTING", "STOP SENDING", "STOP MESSAGING", "UNSUBSCRIBE ME",
)  # fmt: skip
REVOCATION = re.compile(r"\b(" + "|".join(REVOCATION_PHRASES) + r")\b")

KEYWORD_LANGUAGE = {"ARRET": "fr", "AIDE": "fr", "ALTO": "es", "CANCELAR": "es", "AYUDA": "es"}

# Letters from other scripts that look like Latin ones: "ЅТОР" must read as STOP.
LOOKALIKES = str.maketrans(
    "АВСЕНІЈКМОРЅТХУаеіјорсѕухΑΒΕΗΙΚΜΝΟΡΤΥΧοτ",
    "ABCEHIJKMOPSTXYaeijopcsyxABEHIKMNOPTYXot",
)
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad"))
NOT_WORD = re.compile(r"[^A-Z0-9]+")


@dataclass(frozen=True)
class Classification:
    """What a message asks for, and why the classifier thinks so."""

    intent: Intent
    keyword: str | None
    language: str
    rule: str
    review: bool = False


NOT_A_KEYWORD = Classification(Intent.NONE, None, "en", "no_keyword")


def normalise(text: str) -> str:
    """Upper-case Latin words separated by single spaces: look-alikes, accents and symbols gone."""
    text = unicodedata.normalize("NFKC", text).translate(INVISIBLE).translate(LOOKALIKES)
    without_accents = "".join(
        c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
    )
    return NOT_WORD.sub(" ", without_accents.upper()).strip()


def classify_text(text: str) -> Classification:
    """Classify a message by its text alone (YES is reported as a conditional opt-in)."""
    words = normalise(text)
    intent = _keyword_intent(words)
    if intent is not None:
        return Classification(intent, words, KEYWORD_LANGUAGE.get(words, "en"), _rule(words))
    return _keyword_with_filler(words.split()) or _revocation_phrase(words) or NOT_A_KEYWORD


def _keyword_intent(word: str) -> Intent | None:
    if word in OPT_OUT_KEYWORDS:
        return Intent.OPT_OUT
    if word in OPT_IN_KEYWORDS or word in CONDITIONAL_OPT_IN_KEYWORDS:
        return Intent.OPT_IN
    if word in HELP_KEYWORDS:
        return Intent.HELP
    return None


def _rule(keyword: str) -> str:
    return "yes_if_blocked" if keyword in CONDITIONAL_OPT_IN_KEYWORDS else "exact_keyword"


def _keyword_with_filler(words: list[str]) -> Classification | None:
    keywords = [w for w in words if w not in CONDITIONAL_OPT_IN_KEYWORDS and _keyword_intent(w)]
    intents = {_keyword_intent(w) for w in keywords}
    # An opt-out next to another keyword ("STOP HELP") is still an opt-out: missing one costs most.
    intent = Intent.OPT_OUT if Intent.OPT_OUT in intents else next(iter(intents), None)
    if intent is None or len(intents) > 1 and intent is not Intent.OPT_OUT:
        return None
    allowed = FILLER_WORDS | (OPT_OUT_TARGET_WORDS if intent is Intent.OPT_OUT else frozenset())
    if any(w not in allowed for w in words if w not in keywords):
        return None
    keyword = next(w for w in keywords if _keyword_intent(w) is intent)
    language = KEYWORD_LANGUAGE.get(keyword, "en")
    return Classification(intent, keyword, language, "keyword_with_filler")


def _revocation_phrase(words: str) -> Classification | None:
    found = REVOCATION.search(words)
    if found is None:
        return None
    return Classification(Intent.OPT_OUT, found.group(1), "en", "revocation_phrase")
