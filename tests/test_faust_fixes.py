"""Faust's commit of an offset whose message is still in flight, and the fix every worker has."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

from faust.transport.consumer import Consumer
from faust.types import TP
from intervaltree import IntervalTree

from optout.streams.faust_fixes import install_commit_fix

TP0 = TP("inbound-by-pair", 0)


def consumer_state(committed: int | None, acked: list[int]) -> SimpleNamespace:
    """What Consumer._new_offset reads: the committed offset (the next one to process) and the
    acknowledged offsets of one partition."""
    state = SimpleNamespace(
        _committed_offset=defaultdict(lambda: None),
        _acked=defaultdict(list),
        _acked_index=defaultdict(set),
        _gap=defaultdict(IntervalTree),
    )
    state._committed_offset[TP0] = committed
    state._acked[TP0] = list(acked)
    state._acked_index[TP0] = set(acked)
    return state


def test_nothing_is_committed_while_the_next_message_is_in_flight() -> None:
    install_commit_fix()
    assert Consumer._new_offset(consumer_state(10, [11, 12]), TP0) is None


def test_once_it_is_acknowledged_everything_up_to_the_next_gap_is_committed() -> None:
    install_commit_fix()
    assert Consumer._new_offset(consumer_state(10, [10, 11, 12, 14]), TP0) == 13
    assert Consumer._new_offset(consumer_state(None, [0, 1, 2]), TP0) == 3
