"""Waiting for what happens asynchronously, with a message that says what never happened."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def eventually(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`. The
    first polls come soon (most conditions hold within a few hundred milliseconds), then every
    0.2 s."""
    deadline = time.monotonic() + timeout
    pause = 0.02
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(pause)
        pause = min(pause * 2, 0.2)
