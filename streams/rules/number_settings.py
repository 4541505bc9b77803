"""Per-number settings as values: defaults, what a stored record means, and what may be stored.

Pure: the settings reader and web view (tables/settings.py), the CLI and decide() share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

from optout.schemas import Record
from optout.streams.rules.keywords import PROTECTED_KEYWORDS, KeywordSet, normalise
from optout.streams.rules.kinds import (
    CLARIFICATION,
    clarification_text,
    kind_problems,
    kinds_of_brand,
)
from optout.streams.rules.quiet_hours import window_problem
from optout.streams.rules.regions import is_canadian
from optout.streams.rules.scopes import SCOPE_KINDS, id_problem, scope_problems, scope_transition
from optout.streams.rules.segments import segments
from optout.streams.rules.templates import MAX_CANADIAN_REPLY_SEGMENTS, reply_problems
from optout.streams.rules.validate import number_problem

__all__ = [
    "KEYWORD_FIELDS",
    "BRAND_SETTABLE",
    "SCOPE_FIELDS",
    "SETTABLE",
    "apply_changes",
    "default_brand",
    "default_settings",
    "effective_settings",
    "scope_settings",
    "follow_brand_default",
    "keywords_for",
    "settings_problems",
    "shown",
    "updated_brand",
    "updated_settings",
]

KEYWORD_FIELDS = (
    "extra_opt_out_keywords",
    "extra_opt_in_keywords",
    "extra_help_keywords",
    "removed_keywords",
)


def default_settings(
    number: str,
    brand_name: str = "",
    help_contact: str = "",
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
) -> Record:
    """What a number without a settings record gets."""
    return {
        "number": number,
        "enabled": True,
        "toll_free_confirmation": False,
        "brand_name": brand_name,
        "help_contact": help_contact,
        "webhook_url": webhook_url,
        "webhook_secret": webhook_secret,
        **{name: [] for name in KEYWORD_FIELDS},
        "replies": {},
        "updated_at": 0,
        "brand_id": None,
        "campaign_id": None,
        "opt_out_scope": None,
        "scope": None,
        "scope_since": 0,
        "former_scopes": [],
    }


def scope_settings(scope: str) -> Record:
    """What stands for the settings of a number when a change names a scope and no number: a
    number (of none) in the scope; in a brand's scope, of that brand."""
    kind, _, ident = scope.partition(":")
    return default_settings("") | {"scope": scope, "brand_id": ident if kind == "brand" else None}


def effective_settings(stored: Record | None, defaults: Record) -> Record:
    """A stored record with its empty fields filled from the defaults."""
    if stored is None:
        return defaults
    return {key: stored.get(key) or defaults[key] for key in defaults} | {
        "enabled": stored.get("enabled", True),
        "toll_free_confirmation": bool(stored.get("toll_free_confirmation")),
    }


def keywords_for(settings: Record) -> KeywordSet:
    """The keyword set of a number (cached: numbers share few distinct settings)."""
    return _keyword_set(*(tuple(settings[name]) for name in KEYWORD_FIELDS))


@lru_cache(maxsize=4096)
def _keyword_set(
    opt_out: tuple[str, ...], opt_in: tuple[str, ...], help: tuple[str, ...], removed: tuple
) -> KeywordSet:
    return KeywordSet.build(opt_out, opt_in, help, removed)


def shown(settings: Record) -> Record:
    """Settings as the API and CLI show them: the webhook secret never leaves the service."""
    return settings | {"webhook_secret": "********" if settings.get("webhook_secret") else None}


def settings_problems(settings: Record) -> list[str]:
    """Why these settings may not be stored (a clear sentence each); empty when they may."""
    problems = []
    if problem := number_problem("number", settings["number"]):
        problems.append(problem)
    protected = PROTECTED_KEYWORDS & {normalise(k) for k in settings["removed_keywords"]}
    if protected:
        problems.append(f"{', '.join(sorted(protected))} cannot be removed: carriers require them")
    for name in KEYWORD_FIELDS[:3]:
        empty = [k for k in settings[name] if not normalise(k)]
        if empty:
            problems.append(f"{name} has keywords with no letters or digits: {empty}")
    url = settings["webhook_url"]
    if url and not url.startswith(("https://", "http://")):
        problems.append(f"webhook_url {url!r} is not an http(s) URL")
    problems += reply_problems(
        settings["brand_name"],
        settings["help_contact"],
        settings["replies"],
        canadian=is_canadian(settings["number"]),
    )
    return problems


SETTABLE: dict[str, tuple[type, ...]] = {
    "enabled": (bool,),
    "toll_free_confirmation": (bool,),
    "brand_name": (str,),
    "help_contact": (str,),
    "webhook_url": (str, type(None)),
    "webhook_secret": (str, type(None)),
    **{name: (list,) for name in KEYWORD_FIELDS},
    "replies": (dict,),
    "brand_id": (str, type(None)),
    "campaign_id": (str, type(None)),
    "opt_out_scope": (str, type(None)),
}
SCOPE_FIELDS = ("brand_id", "campaign_id", "opt_out_scope")


def apply_changes(current: Record, changes: dict) -> tuple[Record, list[str]]:
    """`current` with `changes` applied, or the reasons the changes are not settings at all."""
    problems = []
    for key, value in changes.items():
        types = SETTABLE.get(key)
        if types is None:
            problems.append(f"unknown setting {key!r}; settable: {', '.join(SETTABLE)}")
        elif not isinstance(value, types) or not _items_are_text(value):
            kinds = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            problems.append(f"{key} must be {kinds} (of strings)")
    return ({**current, **changes}, []) if not problems else (current, problems)


def _items_are_text(value: object) -> bool:
    if isinstance(value, list):
        return all(isinstance(v, str) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    return True


def updated_settings(
    stored: Record | None,
    changes: dict,
    defaults: Record,
    brand_defaults: Mapping[str, str],
    now_ms: int,
) -> tuple[Record, list[str]]:
    """A number's stored settings after `changes` (its consent scope resolved, a scope it leaves
    remembered), or the reasons they may not be stored. `defaults` fill what it leaves empty."""
    number = defaults["number"]
    changes = {k: (None if k in SCOPE_FIELDS and v == "" else v) for k, v in changes.items()}
    updated, problems = apply_changes(stored or default_settings(number), changes)
    updated = updated | {"number": number, "updated_at": now_ms}
    if problems:
        return updated, problems
    brand_default = brand_defaults.get(updated.get("brand_id") or "")
    problems = settings_problems(effective_settings(updated, defaults))
    problems += scope_problems(updated, brand_default)
    if problems:
        return updated, problems
    return scope_transition(stored, updated, brand_defaults, now_ms), []


def follow_brand_default(
    stored: Iterable[Record], brand_id: str, default: str | None, now_ms: int
) -> tuple[list[Record], list[str]]:
    """The brand's numbers that take its default scope (they set none), rewritten for a new
    `default` where their scope changes; or the reasons the default may not be set."""
    if default is not None and default not in SCOPE_KINDS:
        return [], [f"opt_out_scope {default!r} is not one of {', '.join(SCOPE_KINDS)}"]
    followers = [s for s in stored if s.get("brand_id") == brand_id and not s.get("opt_out_scope")]
    problems = [f"{s['number']}: {p}" for s in followers for p in scope_problems(s, default)]
    if problems:
        return [], problems
    defaults = {brand_id: default} if default else {}
    rewritten = [
        scope_transition(s, s | {"updated_at": now_ms}, defaults, now_ms) for s in followers
    ]
    return [
        new
        for new, old in zip(rewritten, followers, strict=True)
        if new["scope"] != old.get("scope")
    ], []


BRAND_SETTABLE: dict[str, tuple[type, ...]] = {
    "opt_out_scope": (str, type(None)),
    "quiet_hours": (str, type(None)),
    "kinds": (list,),
    "default_kind": (str, type(None)),
    "kind_aware": (bool,),
    "clarify": (bool,),
    "clarify_window_hours": (int,),
    "recorded_consent": (bool,),
}


def default_brand(brand_id: str) -> Record:
    """What a brand without a settings record has: no default scope, no quiet hours, the kinds
    marketing and informational with every STOP blocking both."""
    return {
        "brand_id": brand_id,
        "opt_out_scope": None,
        "quiet_hours": None,
        "updated_at": 0,
        "kinds": [],
        "default_kind": None,
        "kind_aware": False,
        "clarify": False,
        "clarify_window_hours": 24,
        "recorded_consent": False,
    }


def updated_brand(
    current: Record, changes: dict, stored: Iterable[Record], now_ms: int
) -> tuple[Record, list[Record], list[str]]:
    """A brand's settings after `changes`, and its numbers rewritten for a new default scope;
    or the reasons the changes may not be made. `stored`: every number's settings."""
    problems = []
    for key, value in changes.items():
        types = BRAND_SETTABLE.get(key)
        if types is None:
            problems.append(f"unknown brand setting {key!r}; settable: {', '.join(BRAND_SETTABLE)}")
        elif (
            not isinstance(value, types)
            or (isinstance(value, bool) and bool not in types)
            or not _items_are_text(value)
        ):
            kinds = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            problems.append(f"{key} must be {kinds} (of strings)")
    if problems or not changes:
        return (
            current,
            [],
            problems or [f"nothing to change; settable: {', '.join(BRAND_SETTABLE)}"],
        )
    empty_is_none = ("opt_out_scope", "quiet_hours", "default_kind")
    record = (
        default_brand(current["brand_id"])
        | current
        | {k: (v or None) if k in empty_is_none else v for k, v in changes.items()}
        | {"updated_at": now_ms}
    )
    stored = list(stored)
    problems = [p for p in [id_problem("brand_id", record["brand_id"])] if p]
    if record["quiet_hours"] and (problem := window_problem(record["quiet_hours"])):
        problems.append(problem)
    problems += kind_problems(record) or _clarification_problems(record, stored)
    rewritten: list[Record] = []
    if "opt_out_scope" in changes:
        rewritten, scope_problems_found = follow_brand_default(
            stored, record["brand_id"], record["opt_out_scope"], now_ms
        )
        problems += scope_problems_found
    return record, rewritten, problems


def _clarification_problems(brand: Record, stored: Iterable[Record]) -> list[str]:
    """A Canadian number's replies fit in one segment: its clarification too, in every language."""
    kinds = kinds_of_brand(brand)
    if not (kinds.clarify and kinds.keepable()):
        return []
    problems = []
    for settings in stored:
        if settings.get("brand_id") != brand["brand_id"] or not is_canadian(settings["number"]):
            continue
        for language in CLARIFICATION:
            text = clarification_text(language, settings.get("brand_name") or "", kinds)
            encoding, count = segments(text)
            if count > MAX_CANADIAN_REPLY_SEGMENTS:
                problems.append(
                    f"{settings['number']}: the clarification in {language} takes {count} SMS "
                    f"segments ({len(text)} characters in {encoding}); a Canadian number's "
                    "replies must fit in one (declare fewer informational kinds, or shorter names)"
                )
    return problems
