"""Decide what one inbound message does: reply, block-list change, consent event, webhook.

Pure: takes the message, the number's settings, the end user's block-list entries (by scope,
see rules/scopes.py) and returns a Decision. The classify agent only reads, calls this, and
writes.

An opt-in (a keyword, or a manual removal) is made in the scope of the number texted or named,
and lifts every entry that speaks for the end user at a number now in that scope: the scope's,
and the members' own and kept blocks (`Decision.lifted`). A command that is accepted does what
it says; one that cannot is refused with the reason (an opt-in older than a block it would lift:
rule `opt_in_older_than_block`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

from optout.schemas import Record
from optout.streams.rules.keywords import (
    BILINGUAL_IN_CANADA,
    RULESET_VERSION,
    Classification,
    Intent,
    classify_text,
)
from optout.streams.rules.kinds import (
    DEFAULT,
    Kinds,
    LastSend,
    blocked_kinds,
    clarification_answer,
    clarification_text,
)
from optout.streams.rules.number_settings import keywords_for
from optout.streams.rules.regions import in_usa_or_canada, is_canadian, is_toll_free
from optout.streams.rules.scopes import (
    ALL_NUMBERS,
    EntryOf,
    MemberBlock,
    consent,
    current_scope,
    kept_by_former_members,
    lifted_for_members,
    member_blocks,
    scope_of,
)
from optout.streams.rules.templates import BILINGUAL, reply_text

__all__ = [
    "Decision",
    "FormerMembers",
    "ManualChange",
    "Members",
    "RECONFIRM_AFTER_MS",
    "TIMED_SOURCES",
    "consent_event",
    "decide",
    "decide_manual",
    "later_change",
]

# A sender who is already blocked and texts STOP again gets one reminder a day at most.
RECONFIRM_AFTER_MS = 24 * 60 * 60 * 1000


# The settings of the numbers that left a scope.
FormerMembers = Callable[[str], Iterable[Record]]
# The settings of the numbers whose current scope is a scope (asked for campaign and brand
# scopes only; the number texted may be among them or not).
Members = Callable[[str], Iterable[Record]]


@dataclass(frozen=True)
class Decision:
    classification: Classification
    reply_text: str | None  # None: no auto-reply
    reply_language: str
    entry: Record | None  # the end user's entry in the number's scope after this message
    entry_changed: bool  # the entry must be written
    consent_action: str | None  # OPT_OUT / OPT_IN: publish a consent event
    sender_blocked: bool = False  # after this message, at the number texted
    kept: list[Record] = field(default_factory=list)  # own entries of former members to write
    # Own entries of numbers in the scope that an opt-in lifts: to write, and to record in their
    # history, like `entry`; the opt-out event (one, for the scope) is `entry`'s.
    lifted: list[Record] = field(default_factory=list)
    # The kinds of message its consent event is about (rules/kinds.py; []: every kind).
    kinds: list[str] = field(default_factory=list)


class ManualChange(NamedTuple):
    """What a hand-made change writes: the entry in the command's scope (its opt-out event's),
    own entries kept by numbers that left the scope, own entries an opt-in lifts."""

    entry: Record
    kept: list[Record]
    lifted: list[Record]


def decide(
    message: Record,
    settings: Record,
    entry_of: EntryOf,
    now_ms: int,
    position: str | None = None,
    former_members: FormerMembers = lambda scope: (),
    members: Members = lambda scope: (),
    kinds: Kinds = DEFAULT,
    answered: LastSend | None = None,
) -> Decision:
    """Apply the keyword policy to one message from an end user to a business number.

    `entry_of(scope)` is the end user's block-list entry in a scope. `position`
    ('topic:partition:offset') is where the message was read; the entry remembers the position
    of the message that last changed it. `former_members(scope)` and `members(scope)` are the
    settings of the numbers that left the scope and of those in it now. `kinds` are the
    brand's kinds of message and `answered` the number's last send to the end user: what a STOP
    blocks (rules/kinds.py).

    YES is an opt-in only while the number texted is blocked, not while some other number of
    the scope is: a YES to a number that is texting the end user most likely answers that
    number's message ("reply YES to confirm"), and lifting a block the end user asked for
    elsewhere on a word that ambiguous would text someone who said STOP. START and UNSTOP say
    what they mean and lift every block in the scope.
    """
    scope = current_scope(settings)
    entry_of = cache(entry_of)  # the scope's is read twice
    entry = entry_of(scope)
    decided = consent(settings, entry_of)
    blocked = decided.blocked
    # A redelivery of the message that made the current entry: the entry stays as it is, but
    # everything it caused is said again, since the first attempt may have died before publishing.
    replayed = entry is not None and entry["message_id"] == message["message_id"]
    classification = _classify(message, blocked or replayed, settings)
    kept = None  # the kinds an answer to a pending clarification keeps
    # The answer read again after a restart: what it did is said again.
    answer_replayed = entry is not None and entry.get("clarified_by") == message["message_id"]
    if classification.intent is Intent.NONE and entry is not None and not replayed:
        if answer_replayed:
            kept = entry.get("allowed_kinds") or []
        elif kinds.clarify and _clarifying(entry, message):
            # Of what it names, what no other block of the number stops already.
            kept = clarification_answer(message["text"], kinds)
            if kept:
                kept = _others_allow(kept, settings, entry_of, scope)
        if kept is not None:
            classification = Classification(Intent.NONE, None, "en", "clarification_answer")
    language = _reply_language(classification, message["to_number"])
    if not replayed and _read_before(position, entry):
        # Read again after a restart, from before a change already made by a later message:
        # what it did (its reply and events) went out before that change was made.
        return Decision(classification, None, language, entry, False, None, blocked)
    in_scope = bool(entry and entry["blocked"])  # blocked by the scope's own entry
    lifting: list[MemberBlock] = []  # what an opt-in to the scope must lift at its other numbers
    if classification.intent is Intent.OPT_IN or (replayed and not in_scope):
        lifting = _member_blocks(scope, settings, members, entry_of)
    if (
        classification.intent is Intent.OPT_IN
        and not replayed
        and any(_read_before(position, block.entry) for block in lifting)
    ):
        # Read again after a restart, from before a block it would lift (made by a later
        # message, to another number of the scope): it was applied before that block was made.
        return Decision(classification, None, language, entry, False, None, blocked)
    if (
        classification.intent is Intent.OPT_IN
        and not replayed
        and any(_older_than(message, made) for made in (decided.entry, *(b.entry for b in lifting)))
    ):
        # Whole or not at all: the scope's opt-in, made now, would outrank the newer block too,
        # so lifting only the older ones is not possible. The end user stays blocked; the
        # webhook's rule says why.
        classification = Classification(
            Intent.NONE, classification.keyword, classification.language, "opt_in_older_than_block"
        )
    intent = classification.intent
    replying = intent is not Intent.NONE

    new_entry, action, lifted = entry, None, []
    if answered is not None and answered.at_ms > message["received_at"]:
        answered = None  # handed over after the STOP was received: not what it answered
    allowed, clarify = kinds.after_stop(answered.kind if answered else None)
    allowed = _others_allow(allowed, settings, entry_of, scope) if allowed else allowed
    # No question where the network confirms the opt-out and this service sends nothing.
    clarify = clarify and not _network_confirms(message["to_number"], settings)
    if replayed:
        action = "OPT_OUT" if in_scope else "OPT_IN"
        if entry is not None and not in_scope:  # what a crash may have left unwritten
            lifted = lifted_for_members(entry, lifting)
    elif answer_replayed and kept is not None:
        action = "OPT_OUT"
    elif kept is not None and entry is not None:
        # Still a block (of what the answer does not keep), made now: numbers that left the
        # scope keep what it said before (rules/scopes.py, rule 3).
        new_entry = entry | {"allowed_kinds": kept, "clarify_until": 0, "since": now_ms,
                             "position": position, "clarified_by": message["message_id"],
                             "clarification": message["text"]}  # fmt: skip
        action = "OPT_OUT"
    elif intent is Intent.OPT_OUT and not in_scope:
        new_entry = _entry(message, classification, scope, True, now_ms, position)
        new_entry |= _stop_reach(allowed, clarify, answered, kinds, message)
        action = "OPT_OUT"
    elif intent is Intent.OPT_OUT and entry is not None and (narrowed := _narrowed(entry, allowed)):
        # A STOP while only some kinds are blocked: it stops what this one answered too.
        new_entry = _entry(message, classification, scope, True, now_ms, position)
        new_entry |= _stop_reach(narrowed.allowed, False, answered, kinds, message)
        action = "OPT_OUT"
    elif intent is Intent.OPT_OUT and entry is not None:
        replying = now_ms - entry["confirmed_at"] >= RECONFIRM_AFTER_MS
        if replying:
            new_entry = entry | {"confirmed_at": now_ms, "position": position}
    elif intent is Intent.OPT_IN:
        opt_in = _entry(message, classification, scope, False, now_ms, position)
        opt_in["opt_in"] = _keyword_opt_in(message)
        lifted = lifted_for_members(opt_in, lifting)
        if blocked or in_scope or lifted:  # else nothing in the scope speaks for a block
            new_entry, action = opt_in, "OPT_IN"

    if intent is Intent.OPT_OUT and _network_confirms(message["to_number"], settings):
        replying = False
    reply = None
    if replying and new_entry is not None and new_entry.get("clarify_until"):
        reply = clarification_text(language, settings["brand_name"], kinds)
    elif replying:
        reply = reply_text(
            intent, language, settings["brand_name"], settings["help_contact"], settings["replies"]
        )
    if new_entry is entry or new_entry is None:
        return Decision(classification, reply, language, entry, False, action, blocked, [], lifted,
                        _event_kinds(entry, kinds))  # fmt: skip
    return Decision(
        classification,
        reply,
        language,
        new_entry,
        True,
        action,
        consent(settings, _after(entry_of, new_entry, *lifted)).blocked,
        kept_by_former_members(scope, new_entry, former_members(scope), entry_of),
        lifted,
        _event_kinds(new_entry, kinds),
    )


def _event_kinds(entry: Record | None, kinds: Kinds) -> list[str]:
    """What the consent event of a decision is about: the kinds a block stops ([]: every kind
    that needs consent; and for an opt-in, every kind)."""
    if entry is None or not entry["blocked"]:
        return []
    return blocked_kinds(kinds, entry.get("allowed_kinds") or ())


class Narrowed(NamedTuple):
    """What a narrowed block still lets through; a tuple, so that narrowed to nothing is true."""

    allowed: list[str]


def _narrowed(entry: Record, allowed: list[str]) -> Narrowed | None:
    """What a block that lets some kinds through still lets through after a STOP that would
    let `allowed` through, when that is less."""
    before = entry.get("allowed_kinds") or []
    after = [kind for kind in before if kind in allowed]
    return Narrowed(after) if after != before else None


def _clarifying(entry: Record, message: Record) -> bool:
    """Whether the entry blocks and waits for the answer to its clarification, and the message
    came after the STOP and within the window."""
    received = message["received_at"]
    return bool(
        entry["blocked"]
        and (entry.get("received_at") or 0) <= received <= entry.get("clarify_until", 0)
    )


def _others_allow(kinds: list[str], settings: Record, entry_of: EntryOf, scope: str) -> list[str]:
    """Of `kinds`, those no block of the number besides its scope's entry stops (its own block
    from before it joined, one kept from a scope it left): a narrower block made in the scope
    must not let through what an older full block there still stops."""
    others = consent(settings, lambda s: None if s == scope else entry_of(s))
    if not others.blocked:
        return kinds
    allowed = (others.entry or {}).get("allowed_kinds") or ()
    return [kind for kind in kinds if kind in allowed]


def _stop_reach(
    allowed: list[str], clarify: bool, answered: LastSend | None, kinds: Kinds, message: Record
) -> Record:
    """What a new block records of its reach: the kinds it lets through, the send it answered,
    and until when an answer to its clarification is taken."""
    return {
        "allowed_kinds": allowed,
        "answered_send": answered.message_id if answered else None,
        "answered_kind": answered.kind if answered else None,
        "clarify_until": message["received_at"] + kinds.clarify_window_ms if clarify else 0,
    }


def _member_blocks(
    scope: str, settings: Record, members: Members, entry_of: EntryOf
) -> list[MemberBlock]:
    """The blocks an opt-in to `scope` must lift besides the scope's entry. A number scope has
    none: its one number's own entry is the scope's (blocks it kept are outranked by it)."""
    if scope.startswith("number:"):
        return []
    return member_blocks(scope, [settings, *members(scope)], entry_of)


def _after(entry_of: EntryOf, *changed: Record) -> EntryOf:
    """The entries once `changed` are written."""
    written = {scope_of(e): e for e in changed}
    return lambda scope: written[scope] if scope in written else entry_of(scope)


def _classify(message: Record, may_opt_in_by_yes: bool, settings: Record) -> Classification:
    if not in_usa_or_canada(message["to_number"]):
        return Classification(Intent.NONE, None, "en", "outside_usa_canada")
    if not settings["enabled"]:
        return Classification(Intent.NONE, None, "en", "number_disabled")
    classification = classify_text(message["text"], keywords_for(settings))
    if classification.rule == "yes_if_blocked" and not may_opt_in_by_yes:
        return Classification(Intent.NONE, classification.keyword, "en", "yes_while_not_blocked")
    return classification


def _network_confirms(business_number: str, settings: Record) -> bool:
    """The toll-free network confirms an opt-out (and blocks) by itself: no second confirmation,
    unless the number's settings ask for one."""
    return is_toll_free(business_number) and not settings.get("toll_free_confirmation")


def _reply_language(classification: Classification, business_number: str) -> str:
    """The language of the keyword; INFO to a Canadian number is answered in both."""
    if classification.keyword in BILINGUAL_IN_CANADA and is_canadian(business_number):
        return BILINGUAL
    return classification.language


def _entry(
    message: Record,
    classification: Classification,
    scope: str,
    blocked: bool,
    now_ms: int,
    position: str | None,
) -> Record:
    return {
        "business_number": message["to_number"],
        "end_user_number": message["from_number"],
        "scope": scope,
        "blocked": blocked,
        "since": now_ms,
        "keyword": classification.keyword,
        "message_id": message["message_id"],
        "source": "keyword",
        "confirmed_at": now_ms if blocked else 0,
        "reason": None,
        "actor": None,
        "received_at": message["received_at"],
        "position": position,
    }


def _keyword_opt_in(message: Record) -> Record:
    """The opt-in a keyword records: the end user texted it (its text is in the evidence)."""
    return {
        "opt_in_id": message["message_id"],
        "kinds": [],
        "method": "keyword",
        "disclosure_text": None,
        "disclosure_version": None,
        "given_at": message["received_at"],
        "page": None,
        "client_address": None,
    }


def _read_before(position: str | None, entry: Record | None) -> bool:
    """Whether `position` is earlier on the same topic partition than the message that last
    changed `entry`."""
    made_at = entry.get("position") if entry else None
    if position is None or made_at is None:
        return False
    place, _, offset = position.rpartition(":")
    made_place, _, made_offset = made_at.rpartition(":")
    return place == made_place and int(offset) < int(made_offset)


def _older_than(message: Record, entry: Record | None) -> bool:
    """Whether the carrier received `message` before the message that made `entry`: a late
    redelivery of an opt-in must not lift a block made since. (An opt-out is always applied.)"""
    made_at = entry.get("received_at") if entry else None
    return made_at is not None and message["received_at"] < made_at


def decide_manual(
    command: Record,
    settings: Record,
    entry_of: EntryOf,
    now_ms: int,
    former_members: FormerMembers = lambda scope: (),
    members: Members = lambda scope: (),
    kinds: Kinds = DEFAULT,
) -> ManualChange | None:
    """What a change from outside the messages writes (see ManualChange); None when it changes
    nothing: a block where the scope's entry blocks already, a removal where nothing speaks for
    a block at any number in the scope (and it records no opt-in). A removal lifts every such
    block, as an opt-in by keyword does.

    A change by hand has no older-than rule: it lifts what stands when it is applied, even a
    block received after it was requested (commands and messages are separate topics). A timed
    change (`TIMED_SOURCES`) counts from when it happened: it changes nothing where a change in
    its scope happened later, and an opt-in lifts nothing (whole or not at all) where a block it
    would lift happened later, as a keyword's."""
    entry_of = cache(entry_of)
    if later_change(command, settings, entry_of, members) is not None:
        return None
    scope = command.get("scope") or current_scope(settings)
    entry = entry_of(scope)
    blocking = command["action"] == "OPT_OUT"
    timed = command.get("source") in TIMED_SOURCES
    at = command["requested_at"]
    lifting = [] if blocking else _member_blocks(scope, settings, members, entry_of)
    changed = {
        "business_number": command["business_number"],
        "end_user_number": command["end_user_number"],
        "scope": scope,
        "blocked": blocking,
        "since": at if timed else now_ms,
        "keyword": None,
        "message_id": command["command_id"],
        "source": command.get("source") or "manual",
        "confirmed_at": 0,
        "reason": command["reason"],
        "actor": command["actor"],
        "received_at": at,
        "position": None,
        "opt_in": None if blocking else command.get("opt_in"),
        "origin": command.get("origin"),
    }
    lifted: list[Record] = []
    if blocking:
        allowed = _allowed_besides(command.get("kinds") or [], kinds)
        if entry is not None and entry["blocked"]:
            # Already blocked: narrowed further, never widened; a deactivation restarts from
            # its later date (a new owner's opt-in in between no longer outranks it).
            before = entry.get("allowed_kinds") or []
            allowed = [kind for kind in before if kind in allowed]
            if allowed == before and not (scope == ALL_NUMBERS and _made_at(entry) < at):
                return None
        changed["allowed_kinds"] = allowed
    else:
        lifted = lifted_for_members(changed, lifting)
        blocked = bool(entry and entry["blocked"]) or bool(lifted)
        if scope == current_scope(settings):  # own or former blocks of the number named
            blocked = blocked or consent(settings, entry_of).blocked
        recorded = command.get("opt_in")
        held = (entry or {}).get("opt_in")
        if not blocked and (
            recorded is None or (held or {}).get("opt_in_id") == recorded["opt_in_id"]
        ):
            return None
    kept = kept_by_former_members(scope, changed, former_members(scope), entry_of)
    return ManualChange(changed, kept, lifted)


# Changes from outside whose time is when they happened, not when they are applied: an imported
# line, a deactivation, a recorded opt-in, the carrier's answer to a send. Between them and the
# end user's keywords, the later by that time wins, in whatever order they are applied.
TIMED_SOURCES = frozenset({"import", "deactivation", "opt_in", "carrier"})


def later_change(
    command: Record, settings: Record, entry_of: EntryOf, members: Members = lambda scope: ()
) -> Record | None:
    """For a timed change, the entry of a change that happened after it and outranks it: in
    its scope, and for an opt-in also a block it would lift or the entry deciding for the number
    it names (a block made at the same time outranks an opt-in, as in rules/scopes.py); None
    when there is none, or the change is not timed."""
    if command.get("source") not in TIMED_SOURCES:
        return None
    scope = command.get("scope") or current_scope(settings)
    made = [entry_of(scope)]
    if command["action"] == "OPT_IN":
        if scope == current_scope(settings):
            made.append(consent(settings, entry_of).entry)
        made += [block.entry for block in _member_blocks(scope, settings, members, entry_of)]
    at = command["requested_at"]
    opting_in = command["action"] == "OPT_IN"
    return next(
        (e for e in made if e is not None and (_made_at(e) > at or (
            opting_in and e["blocked"] and _made_at(e) == at))),
        None,
    )  # fmt: skip


def _made_at(entry: Record) -> int:
    """When the change that made an entry happened (a message's or command's time)."""
    return entry.get("received_at") or entry["since"]


def _allowed_besides(blocking: list[str], kinds: Kinds) -> list[str]:
    """What a block of some kinds lets through ([]: nothing, when it names none or all, or a
    kind the brand does not declare: what that meant is not known)."""
    if not blocking or any(kinds.class_of(kind) is None for kind in blocking):
        return []
    return [kind for kind in kinds.consent_kinds() if kind not in blocking]


def consent_event(
    entry: Record,
    received_at: int,
    message: Record | None = None,
    decision: Decision | None = None,
    kinds: Kinds = DEFAULT,
) -> Record:
    """The opt-out event (for analysts and the audit history) of a consent change; for one an
    inbound message made, with its text, how it was read and the reply it got (evidence). A
    change from outside the messages names the brand's `kinds` it blocks."""
    read = decision.classification if decision else None
    # An answer to the clarification is an opt-out event of its own: what stays blocked.
    answer = message is not None and read is not None and read.rule == "clarification_answer"
    action = "OPT_OUT" if entry["blocked"] else "OPT_IN"
    made_by = message["message_id"] if answer and message else entry["message_id"]
    return {
        "event_id": f"{made_by}:{action}",
        "action": action,
        "business_number": entry["business_number"],
        "end_user_number": entry["end_user_number"],
        "scope": scope_of(entry),
        "keyword": None if answer else entry["keyword"],
        "message_id": made_by,
        "source": entry["source"],
        "received_at": received_at,
        "occurred_at": entry["since"],
        "reason": entry["reason"],
        "actor": entry["actor"],
        "text": message["text"] if message else None,
        "rule": read.rule if read else None,
        "ruleset": RULESET_VERSION if read else None,
        "confirmation": decision.reply_text if decision else None,
        "kinds": decision.kinds if decision else _event_kinds(entry, kinds),
        "answered_send": entry.get("answered_send"),
        "answered_kind": entry.get("answered_kind"),
        "opt_in": None if entry["blocked"] else entry.get("opt_in"),
        "origin": entry.get("origin"),
    }
