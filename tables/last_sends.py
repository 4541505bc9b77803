"""What a STOP answered: the last send from each number to each end user, and its kind.

The gate remembers a send of a kind-aware brand as it hands it to carrier delivery
(agents/gate.py); classify reads it when the end user's STOP arrives, to decide what the STOP
blocks (rules/kinds.py). Both run in the worker that owns the end user's partition.

Kept in memory only, per partition, and forgotten when the partition is revoked: a send
remembered in a table would cost a changelog record per send (about a third of the gate's
throughput, `optout bench gate --kind-aware`). What is not remembered (after a restart or a
rebalance, or beyond MAX_PER_PARTITION pairs) gets the safe answer: the STOP blocks every kind
that needs consent. Nothing remembered is ever stale: a partition is remembered only while this
worker gates every send of it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from optout.streams.app import app
from optout.streams.rules.kinds import LastSend
from optout.streams.topics import OUTBOUND_TOPIC
from optout.tables.keys import pair_key

__all__ = ["MAX_PER_PARTITION", "forget_revoked", "last_send", "remember_send"]

# Pairs remembered per partition, the least recently sent to forgotten first: about 150 bytes each.
MAX_PER_PARTITION = 100_000
_remembered: dict[int, OrderedDict[bytes, LastSend]] = {}


def remember_send(
    partition: int, business: str, end_user: str, kind: str, message_id: str, now_ms: int
) -> None:
    pairs = _remembered.setdefault(partition, OrderedDict())
    key = pair_key(business, end_user)
    pairs[key] = LastSend(kind, message_id, now_ms)
    pairs.move_to_end(key)
    if len(pairs) > MAX_PER_PARTITION:
        pairs.popitem(last=False)


def last_send(partition: int, business: str, end_user: str) -> LastSend | None:
    pairs = _remembered.get(partition)
    return None if pairs is None else pairs.get(pair_key(business, end_user))


async def forget_revoked(*args: Any, **__: Any) -> None:
    """Faust's signal: its sender, and the partitions revoked."""
    for tp in args[-1]:
        if tp.topic == OUTBOUND_TOPIC:
            _remembered.pop(tp.partition, None)


app.on_partitions_revoked.connect(forget_revoked)
