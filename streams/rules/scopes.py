"""Consent scopes: what one opt-out covers, and which block-list entries decide a lookup.

A number's settings name its scope: the number alone (`number:+18005550401`, the default), a
campaign (`campaign:<id>`) or a brand (`brand:<id>`). Consent is kept once per scope and end
user, in the block-list entry keyed by (scope id, end user), so a STOP to a brand of 1,000
numbers is one entry written. The rules (README, "Consent scopes"):

1. An opt-out to any number of a scope blocks the end user at every number of the scope; an
   opt-in to any number of it lifts that for all of them: the scope's entry, and every block
   that still decides for a number now in the scope apart from it (its own block from before it
   joined, a block it kept from a scope it left), which the opt-in lifts by an opt-in in that
   number's own entry (`member_blocks`, `lifted_for_members`).
2. Several entries may speak for a number: its scope's, its own (number scope), and those of
   the scopes it left. Each speaks from a moment (below); the latest decides, a block winning
   a tie.
   - its scope's: a block from when it was made or when the number joined, whichever is later
     (joining inherits the scope's blocks); an opt-in only if made after the number joined;
   - its own: always, from when it was made (blocks from before it joined stay in force until
     an opt-in to the scope);
   - a scope it left: as it stood when the number left: a block made by then, from when it
     was made or the number joined; an opt-in made while it was a member.
3. So scope changes never unblock anyone. When a scope's entry changes, a number that left it
   and was decided by it gets that decision written into its own entry
   (`kept_by_former_members`), so that later changes in the scope it left do not reach it.
4. One more scope speaks for every number: `all`, where a deactivated end-user number is blocked
   from its deactivation date (rules/consent_records.py). Like any entry, it is outranked by an
   opt-in made later in a scope of the number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from optout.schemas import Record

__all__ = [
    "ALL_NUMBERS",
    "Consent",
    "EntryOf",
    "MemberBlock",
    "Membership",
    "SCOPE_KINDS",
    "consent",
    "consent_at",
    "current_scope",
    "id_problem",
    "kept_by_former_members",
    "lifted_for_members",
    "member_blocks",
    "memberships",
    "number_scope",
    "scope_id",
    "scope_of",
    "scope_problems",
    "scope_transition",
    "speaks_alone",
]

SCOPE_KINDS = ("number", "campaign", "brand")
# The scope of every number (rule 4): its entries are keyed "all|<end user>".
ALL_NUMBERS = "all"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

EntryOf = Callable[[str], Record | None]  # scope -> the end user's block-list entry in it


@dataclass(frozen=True)
class Membership:
    scope: str
    joined_at: int
    left_at: int | None  # None: still a member


@dataclass(frozen=True)
class Consent:
    """Whether a number may text an end user, and the entry that decides it (None: nothing
    applies, the end user never opted out)."""

    blocked: bool
    entry: Record | None
    scope: str  # the deciding entry's scope, or the number's scope when nothing applies


@dataclass(frozen=True)
class MemberBlock:
    """A block that decides for a number now in a scope apart from the scope's own entry (its
    own block, or one kept from a scope it left): an opt-in to the scope must lift it too."""

    number: str
    joined_at: int  # when the number joined the scope
    speaks_from: int  # from when the block decides for it (rule 2)
    entry: Record


def number_scope(number: str) -> str:
    return f"number:{number}"


def scope_id(scope: str) -> str:
    """What a scope's block-list keys start with: the number itself for number scope (the keys
    from before scopes existed), else the scope."""
    kind, _, ident = scope.partition(":")
    return ident if kind == "number" else scope


def scope_of(record: Record) -> str:
    """The scope of a block-list entry, command or opt-out event (none: from before scopes)."""
    return record.get("scope") or number_scope(record["business_number"])


def current_scope(settings: Record) -> str:
    return settings.get("scope") or number_scope(settings["number"])


def memberships(settings: Record) -> list[Membership]:
    """Every scope whose entries may speak for the number: its scope, itself, scopes it left,
    and the scope of every number."""
    own = Membership(number_scope(settings["number"]), 0, None)
    if current_scope(settings) == own.scope:
        result = [own]
    else:
        result = [Membership(current_scope(settings), settings.get("scope_since") or 0, None), own]
    for former in settings.get("former_scopes") or ():
        result.append(Membership(former["scope"], former["joined_at"], former["left_at"]))
    result.append(_EVERY_NUMBER)
    return result


_EVERY_NUMBER = Membership(ALL_NUMBERS, 0, None)


def _speaks_from(membership: Membership, entry: Record | None) -> int | None:
    """From when `entry` speaks for a member (rule 2), or None when it does not."""
    if entry is None:
        return None
    since = entry["since"]
    if membership.left_at is not None and since > membership.left_at:
        return None
    if entry["blocked"]:
        return max(since, membership.joined_at)
    return since if since >= membership.joined_at else None


def speaks_alone(settings: Record) -> bool:
    """Whether only the number's own entry and the scope of every number's speak for it (no
    scope, none left: most numbers)."""
    return not settings.get("scope") and not settings.get("former_scopes")


def consent(settings: Record, entry_of: EntryOf) -> Consent:
    """May the settings' number text the end user whose entries `entry_of` gives?"""
    if speaks_alone(settings) and entry_of(ALL_NUMBERS) is None:
        scope = number_scope(settings["number"])
        entry = entry_of(scope)
        return Consent(bool(entry and entry["blocked"]), entry, scope)
    members = memberships(settings)
    return _decided_by(members, lambda m: entry_of(m.scope), members[0].scope)


def _decided_by(
    members: list[Membership], entry_for: Callable[[Membership], Record | None], scope: str
) -> Consent:
    deciding = _deciding(members, entry_for)
    if deciding is None:
        return Consent(False, None, scope)
    _, entry, decided_in = deciding
    return Consent(bool(entry["blocked"]), entry, decided_in)


def _deciding(
    members: list[Membership], entry_for: Callable[[Membership], Record | None]
) -> tuple[int, Record, str] | None:
    """The entry that decides (rule 2): from when it speaks, the entry, its scope."""
    best: tuple[int, bool] | None = None
    deciding: tuple[int, Record, str] | None = None
    for membership in members:
        entry = entry_for(membership)
        moment = _speaks_from(membership, entry)
        if moment is not None and entry is not None:
            rank = (moment, bool(entry["blocked"]))
            if best is None or rank > best:
                best, deciding = rank, (moment, entry, membership.scope)
    return deciding


def kept_by_former_members(
    scope: str, changed: Record, former_members: Iterable[Record], entry_of: EntryOf
) -> list[Record]:
    """Own entries to write so that numbers that left `scope` keep what its entry said for them
    before it changed to `changed` (rule 3). `entry_of` gives the entries before the change."""

    def after(s: str) -> Record | None:
        return changed if s == scope else entry_of(s)

    kept = []
    for settings in former_members:
        before = consent(settings, entry_of)
        if before.scope != scope or before.entry is None or current_scope(settings) == scope:
            continue
        if consent(settings, after).scope != scope:  # the changed entry does not speak for it
            own = number_scope(settings["number"])
            moment = max(_speaks_from(m, before.entry) or 0 for m in memberships(settings)
                         if m.scope == scope)  # fmt: skip
            kept.append(before.entry | {"scope": own, "since": moment, "position": None})
    return kept


def member_blocks(scope: str, members: Iterable[Record], entry_of: EntryOf) -> list[MemberBlock]:
    """The blocks that decide for numbers now in `scope` (`members`: their settings) apart from
    the scope's own entry, one per number at most.

    An opt-in to the scope replaces the scope's entry, but a number's other entries keep
    speaking for it: its own block from before it joined, a block it kept from a scope it left.
    "One consent per scope" means the opt-in lifts those too (rule 1), so the caller needs them:
    to lift (`lifted_for_members`), and to refuse an opt-in older than one of them. A number
    whose own scope is `scope` has none: its own entry is the scope's."""
    found: dict[str, MemberBlock] = {}
    for settings in members:
        number = settings["number"]
        if number in found or current_scope(settings) != scope or number_scope(number) == scope:
            continue
        # Every membership but the scope's (its entry is what the opt-in replaces; a former
        # membership of the same scope reads that entry too, and the new one does not reach it).
        besides = [m for m in memberships(settings) if m.scope != scope]
        deciding = _deciding(besides, lambda m: entry_of(m.scope))
        if deciding is not None and deciding[1]["blocked"]:
            joined = settings.get("scope_since") or 0
            found[number] = MemberBlock(number, joined, deciding[0], deciding[1])
    return list(found.values())


def lifted_for_members(changed: Record, blocks: Iterable[MemberBlock]) -> list[Record]:
    """Own entries to write when `changed`, an opt-in, replaces its scope's entry: for each
    number whose block (`member_blocks`) it outranks, the opt-in again in the number's own
    entry, which always speaks for it and so outranks its own block, or one kept from a scope
    it left (rule 3: an opt-in to the number itself lifts such a block). Written rather than
    left to the ranking so that the table, its export and the history say what lookups answer.

    Lifted only where the opt-in speaks for the number (made after it joined) and is later than
    the block: a block made since (seen when the opt-in is applied again after a crash) stays."""
    since = changed["since"]
    return [
        changed | {"scope": number_scope(block.number)}
        for block in blocks
        if since >= block.joined_at and block.speaks_from < since
    ]


def consent_at(settings: Record, events_of: Callable[[str], list[Record]], at_ms: int) -> Consent:
    """Consent at `at_ms`, from the audit history: `events_of(scope)` gives the end user's
    opt-out events in a scope, oldest first. The deciding entry is the event that made it."""
    members = [
        Membership(m.scope, m.joined_at, m.left_at if m.left_at and m.left_at <= at_ms else None)
        for m in memberships(settings)
        if m.joined_at <= at_ms
    ]

    def state_then(membership: Membership) -> Record | None:
        until = at_ms if membership.left_at is None else membership.left_at
        made = [e for e in events_of(membership.scope) if e["occurred_at"] <= until]
        if not made:
            return None
        return made[-1] | {
            "blocked": made[-1]["action"] == "OPT_OUT",
            "since": made[-1]["occurred_at"],
        }

    current = next((m.scope for m in members if m.left_at is None), current_scope(settings))
    return _decided_by(members, state_then, current)


def id_problem(name: str, value: str) -> str | None:
    """Why a brand or campaign id is not one, or None."""
    if isinstance(value, str) and _ID.fullmatch(value):
        return None
    return (
        f"{name} {value!r} must be 1 to 64 letters, digits, '_', '.' or '-', "
        "starting with a letter or digit"
    )


def scope_problems(settings: Record, brand_default: str | None) -> list[str]:
    """Why the scope settings may not be stored (a sentence each); empty when they may."""
    problems = [
        problem
        for name in ("brand_id", "campaign_id")
        if settings.get(name) is not None and (problem := id_problem(name, settings[name]))
    ]
    chosen = settings.get("opt_out_scope")
    if chosen is not None and chosen not in SCOPE_KINDS:
        problems.append(f"opt_out_scope {chosen!r} is not one of {', '.join(SCOPE_KINDS)}")
        return problems
    kind = chosen or brand_default or "number"
    because = "" if chosen else f" (the default scope of brand {settings.get('brand_id')!r})"
    for needed in ("campaign", "brand"):
        if kind == needed and not settings.get(f"{needed}_id"):
            problems.append(f"opt_out_scope {needed}{because} needs a {needed}_id")
    return problems


def _resolved(settings: Record, brand_default: str | None) -> str:
    kind = settings.get("opt_out_scope") or brand_default or "number"
    if kind == "number":
        return number_scope(settings["number"])
    return f"{kind}:{settings[f'{kind}_id']}"


def scope_transition(
    previous: Record | None, updated: Record, brand_defaults: Mapping[str, str], now_ms: int
) -> Record:
    """`updated` with its scope resolved, and the scope it leaves remembered with when it left.
    Check `scope_problems` first."""
    brand_default = brand_defaults.get(updated.get("brand_id") or "")
    scope = _resolved(updated, brand_default)
    own = number_scope(updated["number"])
    was = current_scope(previous) if previous else own
    if scope == was:
        since = (previous or {}).get("scope_since") or 0
        return updated | {"scope": None if scope == own else scope, "scope_since": since}
    former = list((previous or {}).get("former_scopes") or [])
    if was != own:
        joined = (previous or {}).get("scope_since") or 0
        former.append({"scope": was, "joined_at": joined, "left_at": now_ms})
    return updated | {
        "scope": None if scope == own else scope,
        "scope_since": now_ms,
        "former_scopes": former,
    }
