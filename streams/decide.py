"""Decide what one inbound message does: reply, block-list change, consent event, webhook.

Pure: takes the message, the pair's current block-list entry and the number's settings (Avro
records as dicts) and returns a Decision. The classify agent only reads, calls this, and writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from optout.schemas import Record
from optout.streams.policy import Classification, Intent, classify_text
from optout.streams.templates import reply_text

NANP_PREFIX = "+1"


@dataclass(frozen=True)
class Decision:
    classification: Classification
    reply_text: str | None  # None: no auto-reply
    entry: Record | None  # the pair's block-list entry after this message
    entry_changed: bool  # the entry must be written
    consent_action: str | None  # OPT_OUT / OPT_IN: publish a consent event

    @property
    def sender_blocked(self) -> bool:
        return bool(self.entry and self.entry["blocked"])


def decide(message: Record, entry: Record | None, settings: Record, now_ms: int) -> Decision:
    """Apply the keyword policy to one message for one (business number, end user) pair."""
    blocked = bool(entry and entry["blocked"])
    # A redelivery of the message that made the current entry: the entry stays as it is, but
    # everything it caused is said again, since the first attempt may have died before publishing.
    replayed = entry is not None and entry["message_id"] == message["message_id"]
    classification = _classify(message, blocked or replayed, settings)
    intent = classification.intent

    if replayed:
        new_entry, action = entry, ("OPT_OUT" if blocked else "OPT_IN")
    elif intent is Intent.OPT_OUT and not blocked:
        new_entry, action = _entry(message, classification, True, now_ms), "OPT_OUT"
    elif intent is Intent.OPT_IN and blocked:
        new_entry, action = _entry(message, classification, False, now_ms), "OPT_IN"
    else:
        new_entry, action = entry, None

    reply = None
    if intent is not Intent.NONE:
        reply = reply_text(
            intent,
            classification.language,
            brand=settings["brand_name"],
            contact=settings["help_contact"],
        )
    return Decision(classification, reply, new_entry, new_entry is not entry, action)


def _classify(message: Record, may_opt_in_by_yes: bool, settings: Record) -> Classification:
    if not message["to_number"].startswith(NANP_PREFIX):
        return Classification(Intent.NONE, None, "en", "outside_nanp")
    if not settings["enabled"]:
        return Classification(Intent.NONE, None, "en", "number_disabled")
    classification = classify_text(message["text"])
    if classification.rule == "yes_if_blocked" and not may_opt_in_by_yes:
        return Classification(Intent.NONE, classification.keyword, "en", "yes_while_not_blocked")
    return classification


def _entry(message: Record, classification: Classification, blocked: bool, now_ms: int) -> Record:
    return {
        "business_number": message["to_number"],
        "end_user_number": message["from_number"],
        "blocked": blocked,
        "since": now_ms,
        "keyword": classification.keyword,
        "message_id": message["message_id"],
        "source": "keyword",
    }
