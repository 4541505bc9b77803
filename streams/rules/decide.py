"""Decide what one inbound message does: reply, block-list change, consent event, webhook.

Pure: takes the message, the pair's current block-list entry and the number's settings (Avro
records as dicts) and returns a Decision. The classify agent only reads, calls this, and writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from optout.schemas import Record
from optout.streams.rules.keywords import BILINGUAL_IN_CANADA, Classification, Intent, classify_text
from optout.streams.rules.number_settings import keywords_for
from optout.streams.rules.regions import is_canadian, is_nanp
from optout.streams.rules.templates import BILINGUAL, reply_text

__all__ = ["Decision", "RECONFIRM_AFTER_MS", "consent_event", "decide", "decide_manual"]

# A sender who is already blocked and texts STOP again gets one reminder a day at most.
RECONFIRM_AFTER_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class Decision:
    classification: Classification
    reply_text: str | None  # None: no auto-reply
    reply_language: str
    entry: Record | None  # the pair's block-list entry after this message
    entry_changed: bool  # the entry must be written
    consent_action: str | None  # OPT_OUT / OPT_IN: publish a consent event

    @property
    def sender_blocked(self) -> bool:
        return bool(self.entry and self.entry["blocked"])


def decide(
    message: Record,
    entry: Record | None,
    settings: Record,
    now_ms: int,
    position: str | None = None,
) -> Decision:
    """Apply the keyword policy to one message for one (business number, end user) pair.

    `position` ('topic:partition:offset') is where the message was read; the entry remembers
    the position of the message that last changed it.
    """
    blocked = bool(entry and entry["blocked"])
    # A redelivery of the message that made the current entry: the entry stays as it is, but
    # everything it caused is said again, since the first attempt may have died before publishing.
    replayed = entry is not None and entry["message_id"] == message["message_id"]
    classification = _classify(message, blocked or replayed, settings)
    language = _reply_language(classification, message["to_number"])
    if not replayed and _read_before(position, entry):
        # Read again after a restart, from before a change already made by a later message:
        # what it did (its reply and events) went out before that change was made.
        return Decision(classification, None, language, entry, False, None)
    if classification.intent is Intent.OPT_IN and not replayed and _older_than(message, entry):
        classification = Classification(
            Intent.NONE, classification.keyword, classification.language, "opt_in_older_than_block"
        )
    intent = classification.intent
    replying = intent is not Intent.NONE

    new_entry, action = entry, None
    if replayed:
        action = "OPT_OUT" if blocked else "OPT_IN"
    elif intent is Intent.OPT_OUT and not blocked:
        new_entry, action = _entry(message, classification, True, now_ms, position), "OPT_OUT"
    elif intent is Intent.OPT_OUT and entry is not None:
        replying = now_ms - entry["confirmed_at"] >= RECONFIRM_AFTER_MS
        if replying:
            new_entry = entry | {"confirmed_at": now_ms, "position": position}
    elif intent is Intent.OPT_IN and blocked:
        new_entry, action = _entry(message, classification, False, now_ms, position), "OPT_IN"

    reply = None
    if replying:
        reply = reply_text(
            intent, language, settings["brand_name"], settings["help_contact"], settings["replies"]
        )
    return Decision(classification, reply, language, new_entry, new_entry is not entry, action)


def _classify(message: Record, may_opt_in_by_yes: bool, settings: Record) -> Classification:
    if not is_nanp(message["to_number"]):
        return Classification(Intent.NONE, None, "en", "outside_nanp")
    if not settings["enabled"]:
        return Classification(Intent.NONE, None, "en", "number_disabled")
    classification = classify_text(message["text"], keywords_for(settings))
    if classification.rule == "yes_if_blocked" and not may_opt_in_by_yes:
        return Classification(Intent.NONE, classification.keyword, "en", "yes_while_not_blocked")
    return classification


def _reply_language(classification: Classification, business_number: str) -> str:
    """The language of the keyword; INFO to a Canadian number is answered in both."""
    if classification.keyword in BILINGUAL_IN_CANADA and is_canadian(business_number):
        return BILINGUAL
    return classification.language


def _entry(
    message: Record,
    classification: Classification,
    blocked: bool,
    now_ms: int,
    position: str | None,
) -> Record:
    return {
        "business_number": message["to_number"],
        "end_user_number": message["from_number"],
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


def decide_manual(command: Record, entry: Record | None, now_ms: int) -> Record | None:
    """The pair's new entry after a hand-made change, or None when it changes nothing."""
    blocking = command["action"] == "OPT_OUT"
    if bool(entry and entry["blocked"]) == blocking:
        return None
    return {
        "business_number": command["business_number"],
        "end_user_number": command["end_user_number"],
        "blocked": blocking,
        "since": now_ms,
        "keyword": None,
        "message_id": command["command_id"],
        "source": "manual",
        "confirmed_at": 0,
        "reason": command["reason"],
        "actor": command["actor"],
        "received_at": command["requested_at"],
        "position": None,
    }


def consent_event(entry: Record, received_at: int) -> Record:
    """The opt-out event (for analysts and the audit history) of a block-list change."""
    action = "OPT_OUT" if entry["blocked"] else "OPT_IN"
    return {
        "event_id": f"{entry['message_id']}:{action}",
        "action": action,
        "business_number": entry["business_number"],
        "end_user_number": entry["end_user_number"],
        "keyword": entry["keyword"],
        "message_id": entry["message_id"],
        "source": entry["source"],
        "received_at": received_at,
        "occurred_at": entry["since"],
        "reason": entry["reason"],
        "actor": entry["actor"],
    }
