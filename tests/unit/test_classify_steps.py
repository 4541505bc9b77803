"""The classify agent's batch function without a broker: its tables are dicts, its producer and
flush are recorders, so the order of its crash-safe steps is asserted one by one.

The order (streams/agents/classify.py): table changes, then a flush that puts them on the broker,
then the message's records, then the seen-mark of a message that had effects; a second message
with effects of the same end user waits until the first is confirmed; a message outside its end
user's partition is only re-keyed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP, RecordMetadata

from optout.schemas import AvroSerde
from optout.streams.agents import classify
from optout.streams.app import app, config
from optout.streams.rules.number_settings import default_settings
from optout.streams.rules.partitioning import end_user_partition
from optout.tables import blocklist, history

BUSINESS, USER = "+12125550100", "+14155550100"
INBOUND = AvroSerde("inbound_message", "inbound-messages")


@dataclass
class FakeMessage:
    partition: int
    topic: str = "inbound-messages"
    offset: int = 0

    @property
    def tp(self) -> TP:
        return TP(self.topic, self.partition)


@dataclass
class FakeEvent:
    value: bytes
    message: FakeMessage


class Recording(dict):
    """A table that notes each write in the shared step log; one store for every partition."""

    def __init__(self, name: str, steps: list[str]) -> None:
        super().__init__()
        self.name, self.steps = name, steps
        self.data = SimpleNamespace(_db_for_partition=lambda partition: self)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.steps.append(f"{self.name} {key.decode()}")
        super().__setitem__(key, value)


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every side effect of classify_batch, in order."""
    log: list[str] = []

    async def produce(topic: Any, key: bytes, value: bytes) -> asyncio.Future[RecordMetadata]:
        log.append(f"send {topic.get_topic_name()}")
        done: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        name = topic.get_topic_name()
        done.set_result(RecordMetadata(name, 0, TP(name, 0), 0, 0, 0))
        return done

    class Producer:
        async def flush(self) -> None:
            log.append("flush")

    async def dead_letter(event: Any, reason: str) -> None:
        log.append(f"dead letter: {reason[:40]}")

    monkeypatch.setattr(classify, "produce", produce)
    monkeypatch.setattr(classify, "send_to_dead_letters", dead_letter)
    monkeypatch.setattr(classify, "table_writes_for", lambda event: contextlib.nullcontext())
    monkeypatch.setattr(classify, "seen_messages", Recording("seen", log))
    monkeypatch.setattr(classify, "settings_for", lambda n: default_settings(n, "Acme", "h@a.b"))
    monkeypatch.setattr(blocklist, "blocklist", Recording("block", log))
    monkeypatch.setattr(history, "history", Recording("history", log))
    monkeypatch.setattr(app, "_producer", Producer())
    yield log


def inbound(
    message_id: str, text: str, to: str = BUSINESS, partition: int | None = None
) -> FakeEvent:
    """A carrier's message; in its end user's partition unless told otherwise."""
    message = {
        "message_id": message_id, "channel": "SMS", "from_number": USER, "to_number": to,
        "text": text, "media_urls": [], "received_at": 1_790_000_000_000, "carrier": None,
    }  # fmt: skip
    if partition is None:
        partition = end_user_partition(USER, config.partitions)
    return FakeEvent(INBOUND.encode(message), FakeMessage(partition))


def run(*events: FakeEvent) -> None:
    asyncio.run(classify.classify_batch(list(events)))


def test_a_stop_is_written_flushed_sent_and_then_marked_seen(steps: list[str]) -> None:
    run(inbound("m-1", "STOP"))
    pair = f"{BUSINESS}|{USER}"
    assert steps == [
        f"block {pair}",
        f"history {pair}",
        "flush",
        "send customer-webhook",
        "send outbound-replies",
        "send optout-events",
        "seen m-1",
    ]


def test_a_plain_text_is_forwarded_and_writes_nothing(steps: list[str]) -> None:
    run(inbound("m-2", "see you at 5"))
    assert steps == ["send customer-webhook"]


def test_a_message_outside_its_end_users_partition_is_only_rekeyed(steps: list[str]) -> None:
    elsewhere = (end_user_partition(USER, config.partitions) + 1) % config.partitions
    run(inbound("m-8", "STOP", partition=elsewhere))
    assert steps == ["send inbound-by-user"]


def test_a_second_message_with_effects_of_an_end_user_waits_for_the_first_to_be_confirmed(
    steps: list[str],
) -> None:
    run(inbound("m-3", "STOP"), inbound("m-4", "START"), inbound("m-5", "hi", to="+12125550101"))
    first_seen, second_block = steps.index("seen m-3"), steps.index(f"block {BUSINESS}|{USER}", 1)
    assert first_seen < second_block, steps
    assert steps[-1] == "seen m-4" and "seen m-5" not in steps


def test_a_redelivered_message_does_nothing(steps: list[str]) -> None:
    run(inbound("m-6", "STOP"))
    steps.clear()
    run(inbound("m-6", "STOP"))
    assert steps == []


def test_an_undecodable_record_is_dead_lettered_and_the_batch_goes_on(steps: list[str]) -> None:
    run(FakeEvent(b"\x00not avro", FakeMessage(0)), inbound("m-7", "hello"))
    assert steps[0].startswith("dead letter:")
    assert steps[1:] == ["send customer-webhook"]


def test_a_stop_that_changes_nothing_is_marked_seen_and_on_the_broker_before_a_later_start(
    steps: list[str],
) -> None:
    run(inbound("m-10", "STOP"))
    steps.clear()
    run(inbound("m-11", "STOP"), inbound("m-12", "START"))
    pair = f"{BUSINESS}|{USER}"
    assert steps.index("seen m-11") < steps.index("flush") < steps.index(f"block {pair}"), steps


def test_a_stop_read_again_after_a_later_start_through_the_rekey_hop_does_not_block(
    steps: list[str],
) -> None:
    """The crash the fail-closed issue found: the re-key hop produced its records again after a
    kill, so a STOP that had changed nothing arrived again, at a new offset, after the START."""
    rekeyed = end_user_partition(USER, config.partitions)

    def copy(message_id: str, text: str, offset: int) -> FakeEvent:
        event = inbound(message_id, text)
        event.message = FakeMessage(rekeyed, "inbound-by-user", offset)
        return event

    run(copy("m-13", "STOP", 0), copy("m-14", "STOP", 1), copy("m-15", "START", 2))
    steps.clear()
    run(copy("m-13", "STOP", 3), copy("m-14", "STOP", 4), copy("m-15", "START", 5))
    assert steps == []
    entry = blocklist.entry_in(f"number:{BUSINESS}", USER)
    assert entry is not None and entry["blocked"] is False


def test_a_flagged_message_whose_review_was_decided_is_not_reopened(
    steps: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    decided = {b"m-16": {"status": "DISMISSED"}}
    monkeypatch.setattr(classify, "review_items", decided)
    run(inbound("m-16", "I'll stop by later"))
    assert "send consent-review" not in steps
    assert "seen m-16" in steps
    steps.clear()
    monkeypatch.setattr(classify, "review_items", {})
    run(inbound("m-17", "I'll stop by later"))
    assert "send consent-review" in steps


def test_a_flagged_text_without_a_keyword_is_marked_seen_without_waiting_for_the_broker(
    steps: list[str],
) -> None:
    # Read again after any change it decides nothing, so its mark need not be on the broker
    # first; a second STOP's must (the test above).
    run(inbound("m-18", "I'll stop by the store later"))
    assert steps == ["send customer-webhook", "send consent-review", "seen m-18"], steps
