"""Callers of `BrokerEnds.ends` share requests to the broker, and each gets an answer from a
request begun after it asked: the gate's and the lookups' "after" (a STOP acknowledged before
the question must be inside the ends it is answered with)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from faust.types import TP

from optout.streams.runtime.broker_ends import BrokerEnds

A, B = TP("inbound-messages", 0), TP("inbound-messages", 1)


class CountingEnds(BrokerEnds):
    """Answers each request with its number (1, 2, ...) as every end, after `release`."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1:1", "test", embedded=False)
        self.asked: list[set[TP]] = []
        self.release = asyncio.Event()
        self.refuse = False

    async def _ask(self, tps: Iterable[TP]) -> dict[TP, int]:
        if self.refuse:
            raise ConnectionError("broker gone")
        self.asked.append(set(tps))
        number = len(self.asked)
        await self.release.wait()
        self.release.clear()
        return dict.fromkeys(self.asked[-1], number)


def test_callers_during_a_request_share_the_next_one_begun_after_they_asked() -> None:
    async def scenario() -> None:
        ends = CountingEnds()
        first = asyncio.ensure_future(ends.ends([A]))
        await asyncio.sleep(0)  # the first request is under way
        second = asyncio.ensure_future(ends.ends([A]))
        third = asyncio.ensure_future(ends.ends([B]))
        await asyncio.sleep(0)
        assert ends.asked == [{A}]  # they wait for it to return, then ask together
        ends.release.set()
        assert await first == {A: 1}
        await asyncio.sleep(0)
        assert ends.asked == [{A}, {A, B}]
        ends.release.set()
        assert await second == {A: 2} and await third == {B: 2}

    asyncio.run(scenario())


def test_a_failed_request_fails_its_callers_and_the_next_caller_asks_again() -> None:
    async def scenario() -> None:
        ends = CountingEnds()
        ends.refuse = True
        try:
            await ends.ends([A])
        except ConnectionError as exc:
            assert "broker gone" in str(exc)
        else:
            raise AssertionError("no error")
        ends.refuse = False
        ends.release.set()
        assert await ends.ends([A]) == {A: 1}

    asyncio.run(scenario())
