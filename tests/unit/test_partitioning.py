"""The end user's partition is the one Kafka's default partitioner gives their number."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner, murmur2
from hypothesis import given
from hypothesis import strategies as st

from optout.streams.rules import partitioning


@given(st.binary(max_size=40))
def test_murmur2_is_kafkas(data: bytes) -> None:
    assert partitioning.murmur2(data) == murmur2(data) & 0xFFFFFFFF


def test_the_partition_is_the_one_a_producer_keyed_by_the_number_picks() -> None:
    rng = random.Random(4)
    numbers = [f"+1{rng.randrange(2_000_000_000, 9_999_999_999)}" for _ in range(2000)]
    for partitions in (1, 4, 12):
        every = list(range(partitions))
        for number in numbers:
            picked = DefaultPartitioner()(number.encode(), every, every)
            assert partitioning.end_user_partition(number, partitions) == picked, number


def test_the_producers_partitioner_picks_as_aiokafkas_does() -> None:
    rng = random.Random(5)
    keys = [rng.randbytes(rng.randrange(0, 30)) for _ in range(2000)]
    for partitions in (1, 4, 7, 12):
        every = list(range(partitions))
        for key in keys + keys:  # the second time from the cache
            picked = DefaultPartitioner()(key, every, every)
            assert partitioning.default_partitioner(key, every, every) == picked, key
        assert partitioning.default_partitioner(None, every, every[:1]) == 0
