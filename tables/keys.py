"""The key of a (business number, end user) pair: its one home.

Every per-pair topic and table (inbound by pair, replies, webhooks, events, the block list, its
history and commands) is keyed by these bytes, so a topic's partitioning, a table's partition
and a lookup's route always agree.
"""

from __future__ import annotations

__all__ = ["number_prefix", "pair_key"]


def pair_key(business_number: str, end_user_number: str) -> bytes:
    """b'+15559990000|+15550001111': the pair's key on every per-pair topic and table."""
    return f"{business_number}|{end_user_number}".encode()


def number_prefix(business_number: str) -> bytes:
    """What the keys of all of a business number's pairs start with."""
    return f"{business_number}|".encode()
