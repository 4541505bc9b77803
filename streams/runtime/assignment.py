"""This worker's partitions as of its last rebalance, kept between rebalances.

Consent answers and the gate ask for them per send and per lookup; Faust and aiokafka build a
new set of named tuples for every call (about 30 µs for this service's 120-odd partitions), more
than the rest of the check.
"""

from __future__ import annotations

from faust.exceptions import ConsumerNotStarted
from faust.types import TP

from optout.streams.app import app

__all__ = ["Assignment", "assignment"]


class Assignment:
    def __init__(self) -> None:
        self._assigned: frozenset[TP] | None = None
        self._actives: frozenset[TP] | None = None

    def forget(self, *_: object, **__: object) -> None:
        self._assigned = self._actives = None

    def assigned(self) -> frozenset[TP]:
        """Every partition the worker's consumer is assigned (actives and standbys); none
        before its consumer started."""
        if self._assigned is None:
            try:
                self._assigned = frozenset(app.consumer.assignment())
            except ConsumerNotStarted:
                return frozenset()
        return self._assigned

    def actives(self) -> frozenset[TP]:
        """The partitions the worker processes and answers for (not standby copies)."""
        if self._actives is None:
            self._actives = frozenset(app.assignor.assigned_actives())
        return self._actives


assignment = Assignment()
app.on_partitions_revoked.connect(assignment.forget)
app.on_partitions_assigned.connect(assignment.forget)
