"""Carriers that do not key by the sender with Kafka's default partitioner still get every
message handled once, in order per end user, in the end user's partition (streams/agents/
classify.py re-keys what arrives elsewhere)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from confluent_kafka import Producer

from optout.schemas import AvroSerde
from optout.streams.config import config
from optout.streams.rules.partitioning import end_user_partition, murmur2
from optout.tables.client.blocklist_reader import BlocklistReader
from optout.tables.keys import pair_key
from tests.support import Stack, blocked, eventually, settle_and_assert_once

pytestmark = pytest.mark.e2e
INBOUND = AvroSerde("inbound_message", "inbound-messages")
# Per end user, in the order sent: a block, a lift, a block again, with plain texts between.
SEQUENCE = ["STOP", "hello", "START", "see you", "STOP", "HELP"]


def inbound(message_id: str, sender: str, business: str, text: str) -> bytes:
    return INBOUND.encode({
        "message_id": message_id, "channel": "SMS", "from_number": sender, "to_number": business,
        "text": text, "media_urls": [], "received_at": int(time.time() * 1000),
        "carrier": "test-carrier",
    })  # fmt: skip


def consent_actions(stack: Stack, users: set[str]) -> dict[str, list[str]]:
    """Per end user, the actions on `optout-events` of distinct event ids, in topic order."""
    seen, actions = set(), defaultdict(list)
    for event in stack.read_topic("optout-events", "optout_event"):
        if event["end_user_number"] in users and event["event_id"] not in seen:
            seen.add(event["event_id"])
            actions[event["end_user_number"]].append(event["action"])
    return dict(actions)


def test_librdkafkas_default_partitioner_every_message_once_and_in_order(stack: Stack) -> None:
    business = "+12105550101"
    users = [f"+121455501{n:02d}" for n in range(16)]
    producer = Producer({"bootstrap.servers": stack.broker.bootstrap})  # consistent_random
    ids = []
    for step, text in enumerate(SEQUENCE):
        for user in users:
            ids.append(f"rdkafka-{user}-{step}")
            producer.produce("inbound-messages", inbound(ids[-1], user, business, text), user)
    assert producer.flush(30) == 0

    settle_and_assert_once(stack, *ids)
    assert consent_actions(stack, set(users)) == {
        u: ["OPT_OUT", "OPT_IN", "OPT_OUT"] for u in users
    }
    assert all(blocked(stack, business, user) for user in users)
    rekeyed = {m["message_id"] for m in stack.read_topic("inbound-by-user", "inbound_message")}
    assert rekeyed & set(ids), "librdkafka's partitioner put every message in place: no re-key"
    assert not set(ids) <= rekeyed, "every message was re-keyed: none arrived in place"


def pair_keyed_case() -> tuple[str, str, str]:
    """An end user and two numbers whose pair keys sit on different partitions, one of them
    not the end user's: a carrier keying by the pair puts the two messages apart."""
    partitions = config.partitions

    def pair_partition(business: str, user: str) -> int:
        return (murmur2(pair_key(business, user)) & 0x7FFFFFFF) % partitions

    for n in range(1000):
        user, a, b = f"+121555501{n:02d}", "+12105550102", "+12105550103"
        home = end_user_partition(user, partitions)
        where = {pair_partition(a, user), pair_partition(b, user)}
        if len(where) == 2 and where != {home}:
            return user, a, b
    raise AssertionError("no such case in 1,000 tries")


async def produce_keyed_by_pair(bootstrap: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait("inbound-messages", value, key=key)
    finally:
        await producer.stop()


async def changelog_partitions(bootstrap: str, keys: set[bytes]) -> dict[bytes, int]:
    """The partition of each of `keys` on the block list's changelog."""
    consumer = AIOKafkaConsumer(
        "blocklist-changelog", bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        found = {}
        while batches := await consumer.getmany(timeout_ms=1500):
            for tp, records in batches.items():
                found |= {r.key: tp.partition for r in records if r.key in keys}
        return found
    finally:
        await consumer.stop()


def test_a_carrier_keying_by_the_pair_one_user_two_numbers(stack: Stack, tmp_path: Path) -> None:
    user, first, second = pair_keyed_case()
    records = [
        (pair_key(first, user), inbound("pair-keyed-1", user, first, "STOP")),
        (pair_key(second, user), inbound("pair-keyed-2", user, second, "STOP")),
        (pair_key(second, user), inbound("pair-keyed-3", user, second, "START")),
    ]
    stack.run(produce_keyed_by_pair(stack.broker.bootstrap, records))
    settle_and_assert_once(stack, "pair-keyed-1", "pair-keyed-2", "pair-keyed-3")

    eventually(lambda: blocked(stack, first, user), what="the STOP to the first number")
    assert not blocked(stack, second, user)
    keys = {pair_key(first, user), pair_key(second, user)}
    where = stack.run(changelog_partitions(stack.broker.bootstrap, keys))
    assert set(where.values()) == {end_user_partition(user, config.partitions)}, where

    actions = [
        e["action"]
        for e in stack.http("GET", f"/v1/blocklist/{second}/{user}/history")[1]["events"]
    ]
    assert actions == ["OPT_OUT", "OPT_IN"]
    reader = BlocklistReader(stack.broker.bootstrap, tmp_path / "reader")
    following = asyncio.run_coroutine_threadsafe(reader.run(), stack.loop)
    try:
        eventually(lambda: reader.caught_up, what="the reader to catch up")
        eventually(lambda: reader.is_blocked(first, user), what="the reader to see the block")
        assert not reader.is_blocked(second, user)
        assert reader.entry(second, user)["message_id"] == "pair-keyed-3"  # type: ignore[index]
    finally:
        following.cancel()


def test_entries_sit_in_the_end_users_partition_whatever_the_inbound_record_key(
    stack: Stack,
) -> None:
    """A record with no key lands on any partition; its end user's entry does not."""
    user, business = "+12135550101", "+12105550104"
    for n in range(config.partitions):  # some land elsewhere than the end user's partition
        stack.produce("inbound-messages", inbound(f"unkeyed-{n}", user, business, "STOP"))
    settle_and_assert_once(stack, *(f"unkeyed-{n}" for n in range(config.partitions)))
    where = stack.run(changelog_partitions(stack.broker.bootstrap, {pair_key(business, user)}))
    assert where == {pair_key(business, user): end_user_partition(user, config.partitions)}
