"""A worker started while the broker is down says so (in JSON log lines here), keeps retrying,
and proceeds once the broker is up."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.support import Stack, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def late_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("late-broker"), agents="reply", OPTOUT_LOG_FORMAT="json")
    try:
        stack.start(with_broker=False)
        yield stack
    finally:
        stack.stop()


def test_a_worker_waits_for_a_broker_that_comes_up_later(late_broker: Stack) -> None:
    stack = late_broker
    stack.worker = stack.spawn_worker(stack.web_port, "worker")  # no broker yet
    eventually(
        lambda: stack.worker_log_text().count("unreachable") >= 3,
        what="the worker to report the broker unreachable and retry",
    )
    assert stack.worker.poll() is None, "the worker gave up"
    (retry, *_) = [
        json.loads(line) for line in stack.worker_log_text().splitlines() if "unreachable" in line
    ]
    assert retry["level"] == "WARNING" and "retrying in" in retry["message"]

    time.sleep(1)
    stack.broker.start()
    stack.wait_ready()
