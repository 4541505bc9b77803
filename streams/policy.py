"""The keyword policy: which words mean opt-out, opt-in and help, and how text is normalised.

First version: a message is a keyword when its normalised text is exactly one keyword.
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
    keyword = normalise(text)
    language = KEYWORD_LANGUAGE.get(keyword, "en")
    if keyword in OPT_OUT_KEYWORDS:
        return Classification(Intent.OPT_OUT, keyword, language, "exact_keyword")
    if keyword in OPT_IN_KEYWORDS:
        return Classification(Intent.OPT_IN, keyword, language, "exact_keyword")
    if keyword in CONDITIONAL_OPT_IN_KEYWORDS:
        return Classification(Intent.OPT_IN, keyword, language, "yes_if_blocked")
    if keyword in HELP_KEYWORDS:
        return Classification(Intent.HELP, keyword, language, "exact_keyword")
    return NOT_A_KEYWORD
