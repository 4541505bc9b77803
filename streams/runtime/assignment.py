"""This worker's partitions, kept from one rebalance to the next.

Consent answers and the gate ask for them per send and per lookup; Faust and aiokafka build a
new set of named tuples for every call (about 30 µs for this service's 120-odd partitions), more
than the rest of the check. While a rebalance is under way (from Faust's rebalance start, before
aiokafka changes the assignment, to the end of table recovery) every call asks afresh.
"""

from __future__ import annotations

from typing import Any, cast

from faust.exceptions import ConsumerNotStarted
from faust.types import TP

from optout.streams.app import app

__all__ = ["Assignment", "assignment"]


class Assignment:
    def __init__(self) -> None:
        self._rebalance: int | None = None  # Faust's count of rebalances when these were read
        self._assigned: frozenset[TP] | None = None
        self._actives: frozenset[TP] | None = None

    def assigned(self) -> frozenset[TP]:
        """Every partition the worker's consumer is assigned (actives and standbys); none
        before its consumer started."""
        if not self._settled() or self._assigned is None:
            try:
                assigned = frozenset(app.consumer.assignment())
            except ConsumerNotStarted:
                return frozenset()
            if not self._settled():
                return assigned
            self._assigned = assigned
        return self._assigned

    def actives(self) -> frozenset[TP]:
        """The partitions the worker processes and answers for (not standby copies)."""
        if not self._settled():
            return frozenset(app.assignor.assigned_actives())
        if self._actives is None:
            self._actives = frozenset(app.assignor.assigned_actives())
        return self._actives

    def highwater(self, tp: TP) -> int | None:
        """The end of `tp` as the worker's consumer last fetched it; None when not fetched yet
        or no longer assigned (Faust's consumer thread may drop it at any moment)."""
        try:
            return app.consumer.highwater(tp)
        except (AssertionError, ConsumerNotStarted):  # aiokafka: "Partition is not assigned"
            return None

    def read_offsets(self, topic: str) -> dict[TP, int]:
        """The offset of the last record of each partition of `topic` that the worker's consumer
        has handed to its agents."""
        read = cast(Any, app.consumer)._read_offset
        return {tp: offset for tp, offset in list(read.items()) if tp.topic == topic and offset}

    def _settled(self) -> bool:
        """No rebalance under way, and the ones kept are from the last one that ended."""
        if app.rebalancing:
            return False
        if self._rebalance != app.rebalancing_count:
            self._rebalance = app.rebalancing_count
            self._assigned = self._actives = None
        return True


assignment = Assignment()
