"""What a STOP answered, remembered per partition (tables/last_sends.py): the last send per pair,
the least recently sent to forgotten beyond the bound, and a revoked partition forgotten."""

from __future__ import annotations

import asyncio

import pytest
from faust.types import TP

from optout.streams.rules.kinds import LastSend
from optout.tables import last_sends
from optout.tables.last_sends import last_send, remember_send


def test_the_last_send_per_pair_bounded_and_forgotten_with_its_partition(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(last_sends, "MAX_PER_PARTITION", 2)
    remember_send(0, "+18005550100", "+14155550001", "marketing", "s-1", 1)
    remember_send(0, "+18005550100", "+14155550001", "informational", "s-2", 2)
    assert last_send(0, "+18005550100", "+14155550001") == LastSend("informational", "s-2", 2)
    assert last_send(1, "+18005550100", "+14155550001") is None  # another partition's
    remember_send(0, "+18005550100", "+14155550002", "marketing", "s-3", 3)
    remember_send(0, "+18005550100", "+14155550001", "marketing", "s-4", 4)  # most recent again
    remember_send(0, "+18005550100", "+14155550003", "marketing", "s-5", 5)
    assert last_send(0, "+18005550100", "+14155550002") is None  # the least recently sent to
    assert last_send(0, "+18005550100", "+14155550001") == LastSend("marketing", "s-4", 4)
    remember_send(1, "+18005550100", "+14155550009", "marketing", "s-6", 6)
    asyncio.run(
        last_sends.forget_revoked(None, {TP("outbound-messages", 0), TP("inbound-messages", 1)})
    )
    assert last_send(0, "+18005550100", "+14155550001") is None
    assert last_send(1, "+18005550100", "+14155550009") is not None  # its sends are still here
