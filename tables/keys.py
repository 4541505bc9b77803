"""Keys: the end user's, which every per-consent topic is keyed and partitioned by, and the
pair's, which tables are keyed by.

Consent belongs to the end user: inbound messages (as carriers key them, or re-keyed), replies,
webhooks, opt-out events and block-list commands are keyed by the end user's number, so all of
one end user's records meet in one partition, in order. Table entries are keyed by the pair
(scope id, end user) (the scope id is the business number for a number's own scope, else
'brand:<id>' or 'campaign:<id>'; streams/rules/scopes.py) but written in the end user's
partition, so lookups are routed by the end user (`end_user_key`) while the entries are found
by the pair (`pair_key`).
"""

from __future__ import annotations

__all__ = ["end_user_key", "pair_key", "scope_prefix"]


def end_user_key(end_user_number: str) -> bytes:
    """b'+14155550100': the key of every per-consent topic, and of a lookup's route."""
    return end_user_number.encode()


def pair_key(scope_id: str, end_user_number: str) -> bytes:
    """b'+12125550100|+14155550100' or b'brand:acme|+14155550100': the key of an end user's
    entry in a scope, in the block list and its history."""
    return f"{scope_id}|{end_user_number}".encode()


def scope_prefix(scope_id: str) -> bytes:
    """What the keys of all of a scope's entries start with."""
    return f"{scope_id}|".encode()
