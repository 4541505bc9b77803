"""Dedupe state forgets: a message id with effects is remembered for the retention, so a
redelivery within it does nothing, and is then deleted from the table and its changelog."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support import Stack, eventually, replies_to

pytestmark = pytest.mark.e2e
RETENTION_S = 2.0


@pytest.fixture(scope="module")
def forgetful(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(
        tmp_path_factory.mktemp("forgetful"),
        OPTOUT_DEDUPE_RETENTION_HOURS=str(RETENTION_S / 3600),
        OPTOUT_PRUNE_INTERVAL_SECONDS="0",
    ) as stack:
        yield stack


def last_values(stack: Stack, topic: str) -> dict[bytes, bytes | None]:
    """Per key, the last value on a compacted topic (None: deleted)."""
    return {record.key: record.value for record in stack.read_records(topic)}


def test_ids_are_kept_for_the_retention_and_then_deleted(forgetful: Stack) -> None:
    stack, user, business = forgetful, "+12165550101", "+12105550105"
    stack.inbound("help-1", user, business, "HELP")
    eventually(lambda: len(replies_to(stack, user)) == 1, what="the HELP reply")
    stack.inbound("help-1", user, business, "HELP")  # redelivered within the retention
    stack.inbound("plain-1", user, business, "thanks")
    eventually(lambda: b"help-1" in last_values(stack, "seen-messages-changelog"), what="mark")
    assert b"plain-1" not in last_values(stack, "seen-messages-changelog"), "no mark: no effects"
    assert len(replies_to(stack, user)) == 1

    time.sleep(RETENTION_S + 0.5)
    # The next message and reply of the partition prune what is older than the retention.
    stack.inbound("help-2", user, business, "HELP")
    eventually(lambda: len(replies_to(stack, user)) == 2, what="the second HELP reply")
    eventually(
        lambda: last_values(stack, "seen-messages-changelog").get(b"help-1", b"") is None,
        what="the seen-mark's tombstone on the changelog",
    )
    eventually(
        lambda: last_values(stack, "sent-replies-changelog").get(b"help-1:reply", b"") is None,
        what="the sent reply's tombstone",
    )
