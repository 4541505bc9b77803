"""Kinds of message: what a STOP stops depends on what it answered (47 CFR 64.1200(a)(10),
(a)(12), in force since April 2025).

A brand declares its kinds, each marketing, informational or exempt. Every STOP blocks every kind
that needs consent (the non-exempt ones), unless the brand is kind-aware: then a STOP answering
a marketing send (the number's last send to that end user, which the gate remembers) blocks the
marketing kinds only, and leaves the informational ones the person still wants. With the
clarification on, the one confirmation asks which kinds to stop; until a valid answer everything
that needs consent stays blocked, and an answer naming informational kinds keeps those.

Pure: the gate, classify, lookups and the settings views share it. A block-list entry keeps the
kinds it lets through (`allowed_kinds`), never the ones it blocks, so a kind the brand declares
later is blocked by every block made before: the safe side.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from optout.schemas import Record
from optout.streams.rules.keywords import Intent, classify_text, normalise
from optout.streams.rules.scopes import Consent

__all__ = [
    "CLARIFICATION",
    "CLASSES",
    "DEFAULT",
    "DEFAULT_KINDS",
    "EXEMPT",
    "INFORMATIONAL",
    "Kinds",
    "LastSend",
    "MARKETING",
    "blocked_kinds",
    "clarification_answer",
    "clarification_text",
    "kind_problem",
    "kind_problems",
    "kinds_of_brand",
]

MARKETING, INFORMATIONAL, EXEMPT = "marketing", "informational", "exempt"
CLASSES = (MARKETING, INFORMATIONAL, EXEMPT)
DEFAULT_KINDS = (MARKETING, INFORMATIONAL)
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
# The answers that keep everything blocked, by language.
_ALL = frozenset({"ALL", "TOUT", "TOUS", "TODO", "TODOS"})
# Words an answer may carry besides kind names ("INFORMATIONAL AND APPOINTMENTS").
_FILLERS = frozenset({"AND", "OR", "KEEP", "ET", "OU", "Y", "O"})


class LastSend(NamedTuple):
    """The last send from a number to an end user, as the gate remembers it: what a STOP from
    that end user to that number answers."""

    kind: str
    message_id: str
    at_ms: int


@dataclass(frozen=True)
class Kinds:
    """A brand's kinds of message and how its STOPs reach them."""

    classes: tuple[tuple[str, str], ...]  # (name, class), in the order declared
    default_kind: str
    kind_aware: bool = False
    clarify: bool = False
    clarify_window_ms: int = 24 * 3_600_000
    # A marketing send needs a recorded opt-in for its kind (rules/consent_records.py).
    recorded_consent: bool = False

    def class_of(self, kind: str) -> str | None:
        return dict(self.classes).get(kind)

    def needs_consent(self, kind: str) -> bool:
        """Every kind but an exempt one; a kind the brand does not declare needs consent."""
        return self.class_of(kind) != EXEMPT

    def kind_of(self, send: Record) -> str:
        """A send's kind: its category, else the brand's default kind."""
        return send.get("category") or self.default_kind

    def keepable(self) -> list[str]:
        """The kinds a STOP may leave allowed: the informational ones."""
        return [name for name, cls in self.classes if cls == INFORMATIONAL]

    def consent_kinds(self) -> list[str]:
        return [name for name, cls in self.classes if cls != EXEMPT]

    def after_stop(self, answered_kind: str | None) -> tuple[list[str], bool]:
        """What a new STOP lets through, and whether its confirmation asks which kinds to stop
        (then it lets nothing through until the answer)."""
        if self.clarify and self.keepable():
            return [], True
        if self.kind_aware and answered_kind and self.class_of(answered_kind) == MARKETING:
            return self.keepable(), False
        return [], False

    def blocked(self, consent: Consent, kind: str | None) -> bool:
        """Whether the consent blocks a kind of message; `kind` None: any kind that needs
        consent (a block always blocks marketing). A block lets through only what it allowed
        that is informational now, while the brand still narrows STOPs at all: turning that off,
        or calling a kind marketing, blocks it again. With recorded consent, a kind that needs an
        opt-in is blocked without one."""
        if not consent.blocked:
            return self.needs_opt_in(kind) and self.opt_in_for(consent, kind) is None
        if kind is None:
            return True
        if not self.needs_consent(kind):
            return False
        allowed = (consent.entry or {}).get("allowed_kinds") or ()
        narrows = self.kind_aware or self.clarify
        return not (narrows and kind in allowed and self.class_of(kind) == INFORMATIONAL)

    def needs_opt_in(self, kind: str | None) -> bool:
        """Whether a send of `kind` (None: any kind that needs consent) needs a recorded opt-in:
        with recorded consent, a marketing kind, or one the brand does not declare."""
        return self.recorded_consent and (kind is None or self.class_of(kind) in (MARKETING, None))

    def opt_in_for(self, consent: Consent, kind: str | None) -> Record | None:
        """The recorded opt-in a send of `kind` relies on: the deciding entry's, when the end
        user is not blocked and it covers the kind (None: every kind its record names)."""
        opt_in = (consent.entry or {}).get("opt_in") if not consent.blocked else None
        if opt_in is None or not opt_in["kinds"]:
            return opt_in
        covered = [kind] if kind else [k for k in self.consent_kinds() if self.needs_opt_in(k)]
        return opt_in if all(k in opt_in["kinds"] for k in covered) else None


def kinds_of_brand(brand: Record | None) -> Kinds:
    """The kinds of a brand's settings record (None: a number of no brand, or a brand that set
    nothing: marketing and informational, every STOP blocking both)."""
    if brand is None:
        return DEFAULT
    return _kinds(
        tuple(brand.get("kinds") or ()),
        brand.get("default_kind"),
        bool(brand.get("kind_aware")),
        bool(brand.get("clarify")),
        int(brand.get("clarify_window_hours") or 24),
        bool(brand.get("recorded_consent")),
    )


@lru_cache(maxsize=1024)
def _kinds(
    declared: tuple[str, ...],
    default: str | None,
    aware: bool,
    clarify: bool,
    hours: int,
    recorded: bool = False,
) -> Kinds:
    classes = tuple(_parse(item) for item in declared or DEFAULT_KINDS)
    return Kinds(classes, default or MARKETING, aware, clarify, hours * 3_600_000, recorded)


def _parse(item: str) -> tuple[str, str]:
    name, _, cls = item.partition(":")
    return name, cls or name


DEFAULT = _kinds((), None, False, False, 24)


def kind_problem(kind: str) -> str | None:
    """Why `kind` (of a send or a lookup) is no kind's name, or None."""
    if _NAME.fullmatch(kind):
        return None
    return f"kind {kind!r}: lowercase letters, digits, '-' or '_', at most 32, like marketing"


def kind_problems(brand: Record) -> list[str]:
    """Why a brand's kind settings may not be stored; empty when they may."""
    problems = []
    names = []
    for item in brand.get("kinds") or ():
        name, cls = _parse(item)
        names.append(name)
        if problem := kind_problem(name):
            problems.append(problem)
        elif cls not in CLASSES:
            problems.append(
                f"kind {item!r}: say whether {name} is marketing, informational or exempt "
                f"(e.g. {name}:informational)"
            )
    if len(set(names)) != len(names):
        problems.append("a kind is declared twice")
    for item in brand.get("kinds") or ():
        name, cls = _parse(item)
        if name in (MARKETING, INFORMATIONAL) and cls != name:
            problems.append(f"kind {item!r}: {name} is {name}, whatever else is declared")
        elif normalise(name) in _ALL | _FILLERS or classify_text(name).intent is not Intent.NONE:
            problems.append(
                f"kind {name!r}: a keyword or an answer word; a person answering the "
                "clarification with it would be read as that"
            )
    kinds = kinds_of_brand(brand if not problems else None)
    declared = [name for name, _ in kinds.classes]
    default = brand.get("default_kind")
    if default and not problems and default not in declared:
        problems.append(f"default kind {default!r} is not one of {', '.join(declared)}")
    elif default and not problems and not kinds.needs_consent(default):
        problems.append(
            f"default kind {default!r} is exempt: a send that names no kind needs consent"
        )
    if not problems and MARKETING not in [cls for _, cls in kinds.classes]:
        problems.append("declare at least one marketing kind (sends default to marketing)")
    hours = brand.get("clarify_window_hours", 24)
    if not isinstance(hours, int) or not 1 <= hours <= 24 * 30:
        problems.append("clarify_window_hours must be a whole number of hours from 1 to 720")
    return problems


# The clarification asked in the one opt-out confirmation: {brand}, the words to answer with
# (`{words}`: "APPOINTMENTS or ALERTS") and the kinds they keep (`{names}`).
CLARIFICATION = {
    "en": "{brand}: You are unsubscribed. Reply ALL to stop all messages, or {words} to keep "
    "getting {names} messages.",
    "fr": "{brand}: Vous etes desabonne. Repondez TOUT pour tout arreter, ou {words} pour "
    "garder les messages {names}.",
    "es": "{brand}: Se ha dado de baja. Responda TODO para detener todo, o {words} para seguir "
    "recibiendo mensajes {names}.",
}


def clarification_text(language: str, brand: str, kinds: Kinds) -> str:
    """The confirmation that asks which kinds to stop, in `language` (English if not one)."""
    keepable = kinds.keepable()
    template = CLARIFICATION.get(language.split("+")[0], CLARIFICATION["en"])
    words = " or ".join(name.upper() for name in keepable)
    return template.format(brand=brand, words=words, names=", ".join(keepable))


def clarification_answer(text: str, kinds: Kinds) -> list[str] | None:
    """The kinds an answer to the clarification keeps ([] for ALL: everything stays blocked),
    or None when the text is no answer (it keeps everything blocked too)."""
    normalised = normalise(text)
    if normalised in _ALL:
        return []
    phrases = {normalise(name): name for name in kinds.keepable()}
    words = [word for word in normalised.split() if word not in _FILLERS]
    kept: list[str] = []
    at = 0
    while at < len(words):  # each kind's name, longest first ("ACCOUNT ALERTS" before "ACCOUNT")
        for end in range(len(words), at, -1):
            if (name := phrases.get(" ".join(words[at:end]))) is not None:
                kept.append(name)
                at = end
                break
        else:
            return None
    return list(dict.fromkeys(kept)) or None


def blocked_kinds(kinds: Kinds, allowed: Iterable[str]) -> list[str]:
    """The kinds a block with `allowed` stops, as an opt-out event says them ([]: all)."""
    allowed = set(allowed)
    if not allowed:
        return []
    return [kind for kind in kinds.consent_kinds() if kind not in allowed]
