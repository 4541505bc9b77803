"""Consent records from outside the messages: the lines of an imported list (the opt-outs and
opt-ins a business kept before), recorded opt-ins, carriers' deactivation files, and a carrier's
refusal of a send because the recipient opted out with it.

Pure: each line or request becomes a block-list command, which the manage agent applies like a
change by hand (rules/decide.py, `decide_manual`), or the reason it cannot. `outcome` says what a
command would change, for a dry run.

Each change counts from when it happened (its `at`), not from when it is applied
(`TIMED_SOURCES`): a change in its scope that happened later wins, so importing a file again
changes nothing, and a keyword received after an imported line wins over it, never the other
way. A command's id is made from what the line says, not where it is: the same line in another
file is the same change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import cast

from optout.schemas import Record
from optout.streams.rules.decide import decide_manual, later_change
from optout.streams.rules.kinds import Kinds, kind_problem
from optout.streams.rules.scopes import ALL_NUMBERS, SCOPE_KINDS, EntryOf, consent, id_problem
from optout.streams.rules.validate import number_problem

__all__ = [
    "ALREADY",
    "DEACTIVATION_COLUMNS",
    "IMPORT_COLUMNS",
    "LATER",
    "LIFT",
    "METHODS",
    "NEW_BLOCK",
    "OPTIONAL_COLUMNS",
    "OPT_IN_RECORDED",
    "OUTCOMES",
    "carrier_command",
    "deactivation_command",
    "import_command",
    "opt_in_command",
    "outcome",
    "parse_time",
]

IMPORT_COLUMNS = ("number", "user", "action", "at", "source")
OPTIONAL_COLUMNS = ("kind", "note", "disclosure_text", "disclosure_version")
DEACTIVATION_COLUMNS = ("number", "date")
# How a person gave an opt-in (`method`); an imported opt-in whose source is none of these is
# recorded with the method `import`.
METHODS = ("web", "keyword", "paper", "api")
_ACTIONS = {"opt_out": "OPT_OUT", "opt_in": "OPT_IN"}
# A time this far ahead of the clock is refused: it would outrank every change until then.
_FUTURE_SLACK_MS = 5 * 60 * 1000
_MAX_TEXT = 2000

# What a line does, in a dry run's summary.
NEW_BLOCK, LIFT, OPT_IN_RECORDED = "new block", "lift", "opt-in recorded"
ALREADY, LATER = "already so", "a later change wins"
OUTCOMES = (NEW_BLOCK, LIFT, OPT_IN_RECORDED, ALREADY, LATER)

Made = tuple[Record | None, str | None]  # the command, or why there is none


def parse_time(text: str, whole_day_until_end: bool = False) -> int:
    """Epoch ms of an ISO 8601 date or time (UTC when it names no zone). A bare date is its
    start, or with `whole_day_until_end` its last millisecond. ValueError when it is neither."""
    text = text.strip()
    try:
        try:
            day = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        except ValueError:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
            return _ms(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        return _ms(day + timedelta(days=1)) - 1 if whole_day_until_end else _ms(day)
    except (ValueError, OverflowError):
        raise ValueError(f"{text!r} is not an ISO 8601 date or time") from None


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def import_command(line: Mapping[str, object], origin: str, actor: str, now_ms: int) -> Made:
    """The command of one imported line (`origin`: FILE:LINE), or why the line is refused."""
    fields, problem = _texts(line, IMPORT_COLUMNS + OPTIONAL_COLUMNS)
    if problem:
        return None, problem
    missing = [name for name in ("number", "user", "action", "at") if not fields[name]]
    if missing:
        return None, "no " + ", ".join(missing)
    target, user, kind = fields["number"], fields["user"], fields["kind"]
    business, scope, problem = _target(target)
    problem = problem or number_problem("user", user) or (kind and kind_problem(kind))
    action = _ACTIONS.get(fields["action"].lower())
    if problem or action is None:
        return None, problem or f"action {fields['action']!r}: opt_out or opt_in"
    # A bare date: an opt-out counts from the day's end, an opt-in from its start (the safe side
    # against a keyword received that day).
    at, problem = _time(fields["at"], now_ms, action == "OPT_OUT", action == "OPT_IN")
    if problem:
        return None, problem
    source = fields["source"]
    command_id = _id("import", target, user, action, at, kind)
    return {
        "command_id": command_id,
        "action": action,
        "business_number": business,
        "end_user_number": user,
        "scope": scope,
        "reason": fields["note"] or f"imported (source: {source or 'not given'})",
        "actor": actor,
        "source": "import",
        "requested_at": at,
        "kinds": [kind] if kind else [],
        "opt_in": None if action == "OPT_OUT" else {
            "opt_in_id": command_id,
            "kinds": [kind] if kind else [],
            "method": source if source in METHODS else "import",
            "disclosure_text": fields["disclosure_text"] or None,
            "disclosure_version": fields["disclosure_version"] or None,
            "given_at": at,
            "page": None,
            "client_address": None,
        },
        "origin": origin,
    }, None  # fmt: skip


def deactivation_command(line: Mapping[str, object], origin: str, actor: str, now_ms: int) -> Made:
    """The command of one line of a deactivation file: the end user's number is blocked at
    every number from the end of the date it was deactivated."""
    fields, problem = _texts(line, DEACTIVATION_COLUMNS)
    if problem:
        return None, problem
    number, day = fields["number"], fields["date"]
    problem = number_problem("number", number) if number else "no number"
    at, time_problem = _time(day, now_ms, whole_day_until_end=True) if day else (0, "no date")
    if problem or time_problem:
        return None, problem or time_problem
    return {
        "command_id": _id("deactivation", number, at),
        "action": "OPT_OUT",
        "business_number": "",
        "end_user_number": number,
        "scope": ALL_NUMBERS,
        "reason": f"the number was deactivated ({day})",
        "actor": actor,
        "source": "deactivation",
        "requested_at": at,
        "kinds": [],
        "opt_in": None,
        "origin": origin,
    }, None


def opt_in_command(body: Mapping[str, object], actor: str, now_ms: int) -> Made:
    """The command of a recorded opt-in (POST /v1/consent/opt-ins, `optout consent opt-in`):
    number (or scope), user, kinds, method, disclosure_text and _version, at (default now),
    and for a web form page and client_address."""
    names = ("number", "user", "method", "disclosure_text", "disclosure_version", "at", "page",
             "client_address")  # fmt: skip
    fields, problem = _texts(body, names)
    given = body.get("kinds")
    given = [] if given is None else given
    if not problem and not (isinstance(given, list) and all(isinstance(k, str) for k in given)):
        problem = "kinds must be a list of kind names"
    if problem:
        return None, problem
    kinds = sorted({str(kind) for kind in cast(list, given)})
    business, scope, problem = (
        _target(fields["number"]) if fields["number"] else ("", None, "no number")
    )
    method = fields["method"]
    problem = (
        problem
        or number_problem("user", fields["user"])
        or next((p for k in kinds if (p := kind_problem(k))), None)
        or (None if method in METHODS else f"method {method!r}: one of {', '.join(METHODS)}")
        or (None if fields["disclosure_text"] or method == "keyword" else "no disclosure_text")
        or (None if method == "web" or not (fields["page"] or fields["client_address"])
            else "page and client_address are for a web form (method web)")
    )  # fmt: skip
    at, time_problem = _time(fields["at"], now_ms, opt_in=True) if fields["at"] else (now_ms, None)
    if problem or time_problem:
        return None, problem or time_problem
    record = {
        "opt_in_id": _id("opt-in", fields["number"], fields["user"], at, *kinds, method,
                         fields["disclosure_version"]),
        "kinds": kinds,
        "method": method,
        "disclosure_text": fields["disclosure_text"] or None,
        "disclosure_version": fields["disclosure_version"] or None,
        "given_at": at,
        "page": fields["page"] or None,
        "client_address": fields["client_address"] or None,
    }  # fmt: skip
    return {
        "command_id": record["opt_in_id"],
        "action": "OPT_IN",
        "business_number": business,
        "end_user_number": fields["user"],
        "scope": scope,
        "reason": f"opt-in recorded ({method})",
        "actor": actor,
        "source": "opt_in",
        "requested_at": at,
        "kinds": [],
        "opt_in": record,
        "origin": None,
    }, None


def carrier_command(send: Record, code: str, now_ms: int) -> Record:
    """The opt-out a carrier's refusal of a send records when its error code says the recipient
    opted out with the carrier: at the send's number, so the service and the carrier agree."""
    return {
        "command_id": f"carrier-{send['message_id']}",
        "action": "OPT_OUT",
        "business_number": send["from_number"],
        "end_user_number": send["to_number"],
        "scope": None,
        "reason": f"the carrier refused a send with error code {code}: the recipient opted out",
        "actor": "carrier",
        "source": "carrier",
        "requested_at": now_ms,
        "kinds": [],
        "opt_in": None,
        "origin": f"send {send['message_id']}",
    }


def outcome(
    command: Record, settings: Record, entry_of: EntryOf, kinds: Kinds, now_ms: int
) -> tuple[str, list[Record]]:
    """What a command would change (one of OUTCOMES) and the entries it would write, the end
    user's entries being `entry_of`'s and the number's (or scope's) settings `settings`. Blocks
    of other numbers of a scope are not looked for: a lift shows where the scope's entry blocks."""
    decided = decide_manual(command, settings, entry_of, now_ms, kinds=kinds)
    if decided is None:  # only then is it worth asking why
        return (ALREADY if later_change(command, settings, entry_of) is None else LATER), []
    written = [decided.entry, *decided.kept, *decided.lifted]
    if command["action"] == "OPT_OUT":
        return NEW_BLOCK, written
    before = entry_of(decided.entry["scope"])
    was_blocked = bool(before and before["blocked"]) or consent(settings, entry_of).blocked
    return (LIFT if was_blocked or decided.lifted else OPT_IN_RECORDED), written


def _texts(line: Mapping[str, object], names: tuple[str, ...]) -> tuple[dict[str, str], str | None]:
    """The line's fields as stripped text ('' when absent), or why one is not text."""
    fields = {}
    for name in names:
        value = line.get(name)
        if value is not None and not isinstance(value, str):
            return {}, f"{name} must be text"
        text = (value or "").strip()
        if len(text) > _MAX_TEXT:
            return {}, f"{name} is longer than {_MAX_TEXT:,} characters"
        fields[name] = text
    return fields, None


def _target(text: str) -> tuple[str, str | None, str | None]:
    """Business number, scope and problem of a line's `number`: an E.164 number, or number:N
    (the number's scope when applied: a change there is one consent with the number's brand or
    campaign), or a scope (brand:ID, campaign:ID)."""
    kind, _, ident = text.rpartition(":")
    if kind in ("", "number"):
        return ident, None, number_problem("number", ident)
    if kind not in SCOPE_KINDS:
        return "", None, f"number {text!r}: a business number, or brand:ID, campaign:ID, number:N"
    return "", text, id_problem(f"{kind} id", ident)


def _time(
    text: str, now_ms: int, whole_day_until_end: bool = False, opt_in: bool = False
) -> tuple[int, str | None]:
    """A line's time, or why it cannot be taken: an opt-in in the future would outrank a STOP
    received before then; another change may be a few minutes ahead of this clock."""
    try:
        at, starts = parse_time(text, whole_day_until_end), parse_time(text)
    except ValueError as exc:
        return 0, str(exc)
    if starts > now_ms + (0 if opt_in else _FUTURE_SLACK_MS):
        return 0, f"{text!r} is in the future"
    return at, None


def _id(prefix: str, *parts: object) -> str:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return f"{prefix}-{digest[:24]}"
