"""Where an end user's records belong: the partition Kafka's default partitioner gives their
number, so that every message, table entry and lookup of one end user meets in one partition.

Kafka's default partitioner (Java clients, aiokafka, kafka-python; librdkafka with
`partitioner=murmur2_random`) takes murmur2 of the key bytes. A carrier that keys inbound
messages by the sender's number therefore puts each message where it is classified; any other
record is re-keyed first (streams/agents/classify.py).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import lru_cache

__all__ = ["default_partitioner", "end_user_partition", "murmur2"]

_SEED, _M, _MASK = 0x9747B28C, 0x5BD1E995, 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """MurmurHash2 as Kafka's Java client computes it (org.apache.kafka.common.utils.Utils)."""
    length = len(data)
    h = _SEED ^ length
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = data[length - length % 4 :]
    if tail:
        for n, byte in reversed(list(enumerate(tail))):
            h ^= byte << (8 * n)
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


@lru_cache(maxsize=2**16)
def end_user_partition(end_user_number: str, partitions: int) -> int:
    """The partition of an end user's records: Kafka's default partitioner on their number."""
    return (murmur2(end_user_number.encode()) & 0x7FFFFFFF) % partitions


@lru_cache(maxsize=2**16)
def _key_hash(key: bytes) -> int:
    return murmur2(key) & 0x7FFFFFFF


def default_partitioner(key: bytes | None, every: Sequence[int], available: Sequence[int]) -> int:
    """aiokafka's default partitioner (the producers' here), with each key's hash kept: aiokafka
    hashes every record's key in Python, about 7% of the gate's time (py-spy), and the hot paths
    key by the same end users' numbers again and again."""
    if key is None:
        return random.choice(available or every)
    return every[_key_hash(key) % len(every)]
