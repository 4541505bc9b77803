"""A fix for Faust's offset commits, installed in every worker.

Faust 0.15.3 commits past a message that is still being processed when it is the only one
missing at the head of a partition: with offsets below 10 committed, 10 in flight and 11 and 12
acknowledged, it commits 13 (faust-streaming/faust#606, fix proposed in #707). A worker that
dies before finishing 10 then never sees it again. Agents that acknowledge out of order (webhook
deliveries run concurrently) hit this; so does any agent after a failed event. Here, when the
next offset to commit is not acknowledged, nothing is committed until it is.
"""

from __future__ import annotations

from faust.transport.consumer import Consumer
from faust.types import TP


def install_commit_fix() -> None:
    if getattr(Consumer, "_optout_commit_fix", False):
        return
    new_offset = Consumer._new_offset

    def _new_offset(self: Consumer, tp: TP) -> int | None:
        committed, acked = self._committed_offset[tp], self._acked[tp]
        if committed is not None and acked and not self._gap[tp] and min(acked) > committed:
            return None  # the message at `committed` is not done
        return new_offset(self, tp)

    Consumer._new_offset = _new_offset  # type: ignore[method-assign]
    Consumer._optout_commit_fix = True  # type: ignore[attr-defined]
