"""What a person wrote, apart from what their phone or habit added around it.

`split_body` cuts, in this order:
- a signature or a quoted reply, from its first line to the end ("Sent from my iPhone",
  "-- ", "Get Outlook for Android", "Envoyé de mon iPhone", "On Tue, ... wrote:", "> ...");
- greetings at the start ("Hi,", "Bonjour,", "Hola,");
- sign-offs and names at the end ("Thanks, John", "- Dave", "Gracias. Luis", "Regards, Tom").

A clause is only cut when something else is left, and a name only when it is written as one
(one or two capitalised words on their own, after a greeting, a comma, a full stop or a dash)
and none of its words is a keyword or a cue of the number ("Hi STOP", "Thanks, Cancel").

Pure and free of I/O; called only for texts that carry a keyword or a revocation cue.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

__all__ = ["GREETINGS", "SIGN_OFFS", "Body", "split_body", "split_clauses"]

# A line that starts what the phone or the mail app appends, or a reply's quote.
_SIGNATURE_LINE = re.compile(
    r"^\s*(?:--+\s*$|__+|>|sent (?:from|via|with|using)\b|get outlook\b|"
    r"envoy[eé] (?:de|depuis|avec)\b|obtenir outlook\b|enviado (?:desde|con)\b|"
    r"on .{3,80} wrote:?\s*$|le .{3,80} a [ée]crit\s*:?\s*$|el .{3,80} escribi[oó]:?\s*$)",
    re.IGNORECASE,
)
# The same signatures when a gateway has joined the lines: "STOP Sent from my iPhone".
_SIGNATURE_TAIL = re.compile(
    r"\s(?:sent from my|envoy[eé] de mon|enviado desde mi)\s.*$", re.IGNORECASE | re.DOTALL
)
# Clause boundaries: sentence punctuation, commas, line breaks, a dash between spaces.
_CLAUSE_BREAK = re.compile(r"[,.;:!?\n]+|\s[-\u2013\u2014]+\s")
_WORD = re.compile(r"\w")

GREETINGS = frozenset(
    {"HI", "HELLO", "HEY", "DEAR", "GOOD MORNING", "GOOD AFTERNOON", "GOOD EVENING", "BONJOUR",
     "BONSOIR", "SALUT", "ALLO", "HOLA", "BUENOS DIAS", "BUENAS TARDES", "BUENAS NOCHES",
     "BUENAS"}
)  # fmt: skip
SIGN_OFFS = frozenset(
    {"THANKS", "THANK YOU", "THANKS A LOT", "THANK YOU VERY MUCH", "THX", "TY", "REGARDS",
     "BEST", "BEST REGARDS", "KIND REGARDS", "CHEERS", "SINCERELY", "MERCI", "MERCI BEAUCOUP",
     "CORDIALEMENT", "BONNE JOURNEE", "BONNE SOIREE", "GRACIAS", "MUCHAS GRACIAS", "SALUDOS",
     "ATENTAMENTE"}
)  # fmt: skip


_NOT_ALNUM = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


def _words(clause: str) -> str:
    """Upper-case ASCII words, accents off (a lighter `keywords.normalise`, enough for names)."""
    if not clause.isascii():
        clause = unicodedata.normalize("NFD", clause).encode("ascii", "ignore").decode()
    return " ".join(clause.translate(_NOT_ALNUM).upper().split())


def split_clauses(text: str) -> list[str]:
    """The text cut at sentence punctuation, commas, line breaks and spaced dashes."""
    return [c.strip() for c in _CLAUSE_BREAK.split(text) if _WORD.search(c)]


def _is_name(clause: str, vocabulary: frozenset[str]) -> bool:
    words = clause.split()
    return (
        0 < len(words) <= 2
        and all(w[:1].isupper() and w.isalpha() for w in words)
        and vocabulary.isdisjoint(_words(clause).split())
    )


def _is_contact(clause: str) -> bool:
    """A phone number or an e-mail address on its own: the end of a signature."""
    return "@" in clause or (
        sum(c.isdigit() for c in clause) >= 7 and all(c.isdigit() or c in " +-().x" for c in clause)
    )


def _is_greeting(clause: str, vocabulary: frozenset[str]) -> bool:
    """A greeting ("Hi", "Good morning", "Hola Maria"), not "Hi can you stop" nor "Hi STOP".

    What follows the greeting is a name only if none of its words is in `vocabulary` (the
    number's keywords and cues), as for the sign-offs: "Hi STOP, thanks" asks to stop.
    """
    words = _words(clause).split()
    for n in (2, 1):
        if " ".join(words[:n]) in GREETINGS:
            rest = " ".join(clause.split()[n:])
            return not rest or _is_name(rest, GREETINGS | vocabulary)
    return False


def _is_sign_off(clause: str, vocabulary: frozenset[str]) -> bool:
    words = _words(clause)
    if words in SIGN_OFFS:
        return True
    # "Thanks John", "Merci Sophie": a sign-off and a name
    for sign_off in SIGN_OFFS:
        if words.startswith(sign_off + " "):
            rest = clause.split()[len(sign_off.split()) :]
            return _is_name(" ".join(rest), vocabulary)
    return False


class Body(NamedTuple):
    """The request's clauses, and what was cut from around them (in the order it was cut)."""

    clauses: list[str]
    stripped: tuple[str, ...]


def split_body(text: str, vocabulary: frozenset[str] = frozenset()) -> Body:
    """The request itself, cut into clauses, and what was cut from around it.

    `vocabulary` holds the words that are never a name (keywords and the like: "Stop, Cancel").
    """
    stripped: list[str] = []
    lines = text.splitlines() if "\n" in text else ()
    for i, line in enumerate(lines):
        if i and _SIGNATURE_LINE.match(line) and any(_words(x) for x in lines[:i]):
            stripped.append("\n".join(lines[i:]).strip())
            text = "\n".join(lines[:i])
            break
    lower = text.lower()  # a cheap test before the expression: each signature has one of these
    hinted = "sent from my" in lower or " de mon " in lower or "desde mi" in lower
    tail = _SIGNATURE_TAIL.search(text) if hinted else None
    if tail and _words(text[: tail.start()]):
        stripped.append(tail.group().strip())
        text = text[: tail.start()]
    clauses = split_clauses(text)
    while len(clauses) > 1 and _is_greeting(clauses[0], vocabulary):
        stripped.append(clauses.pop(0))
    while len(clauses) > 1 and (
        _is_sign_off(clauses[-1], vocabulary)
        or _is_name(clauses[-1], vocabulary)
        or _is_contact(clauses[-1])
    ):
        stripped.append(clauses.pop())
    return Body(clauses, tuple(stripped))
