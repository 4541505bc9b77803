"""Table writes while handling a batch of events (`stream.take_events`).

A Faust table writes each change to the changelog partition of the event being processed, which
it finds in a context variable that only one-at-a-time iteration sets; in a batch it is unset
and the write fails ("Cannot modify table key from outside of stream iteration",
faust-streaming/faust#497). Setting it per event keeps every change in its event's partition,
exactly as one-at-a-time processing would.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from faust.streams import _current_event
from faust.types import EventT


@contextmanager
def table_writes_for(event: EventT) -> Iterator[None]:
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
