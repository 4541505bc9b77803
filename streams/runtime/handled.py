"""How far an agent has handled its partitions, for another agent that must not run ahead.

The send gate waits for the classify agent: a send is gated only once every inbound message
that had reached the broker in the end user's partition when the gate read the send has been
classified, its block written (agents/gate.py says what that means for a STOP and a send sent
close together).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence

from faust.types import TP, EventT

from optout.streams.app import app
from optout.streams.runtime.batches import next_offset_to_process

__all__ = ["HandledOffsets", "WAIT_WARNING_SECONDS"]

log = logging.getLogger(__name__)
WAIT_WARNING_SECONDS = 5.0


class HandledOffsets:
    """The next offset to handle, per partition, as the handling agent marks its batches."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.next_offset: dict[TP, int] = {}
        self.changed = asyncio.Event()

    def mark(self, events: Sequence[EventT]) -> None:
        """These events are handled (their table changes written)."""
        for event in events:
            tp, offset = event.message.tp, event.message.offset
            self.next_offset[tp] = max(self.next_offset.get(tp, 0), offset + 1)
        self.changed.set()

    async def wait_for_broker_ends(self, tps: Iterable[TP]) -> None:
        """Wait until every record the broker held on `tps` when called has been handled."""
        ends = {tp: app.consumer.highwater(tp) for tp in tps}
        waited = 0.0
        while behind := [tp for tp, end in ends.items() if end is not None and self._at(tp) < end]:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), 1.0)
            except TimeoutError:
                waited += 1.0
                if waited % WAIT_WARNING_SECONDS == 0:
                    log.warning("waiting %.0fs for %s to handle %s", waited, self.name, behind)

    def _at(self, tp: TP) -> int:
        return self.next_offset.get(tp) or next_offset_to_process(tp) or 0
