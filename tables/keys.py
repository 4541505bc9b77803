"""Keys: the end user's, which every per-consent topic is keyed and partitioned by, and the
pair's, which tables are keyed by.

Consent belongs to the end user: inbound messages (as carriers key them, or re-keyed), replies,
webhooks, opt-out events and block-list commands are keyed by the end user's number, so all of
one end user's records meet in one partition, in order. Table entries are keyed by the pair
(business number, end user) but written in the end user's partition, so lookups are routed by
the end user (`end_user_key`) while the entry is found by the pair (`pair_key`).
"""

from __future__ import annotations

__all__ = ["end_user_key", "number_prefix", "pair_key"]


def end_user_key(end_user_number: str) -> bytes:
    """b'+15550001111': the key of every per-consent topic, and of a lookup's route."""
    return end_user_number.encode()


def pair_key(business_number: str, end_user_number: str) -> bytes:
    """b'+15559990000|+15550001111': the pair's key in the block list and its history."""
    return f"{business_number}|{end_user_number}".encode()


def number_prefix(business_number: str) -> bytes:
    """What the keys of all of a business number's pairs start with."""
    return f"{business_number}|".encode()
