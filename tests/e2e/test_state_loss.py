"""A worker whose local RocksDB is deleted while it is stopped rebuilds its tables from the
changelogs and answers every lookup as before."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.support import Stack, eventually

pytestmark = pytest.mark.e2e
PAIRS = 40


@pytest.fixture
def classify_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("state-loss"), agents="classify") as stack:
        yield stack


def answers(stack: Stack, number: str, users: list[str]) -> list[bool | None]:
    results = []
    for user in users:
        status, answer = stack.lookup(number, user)
        results.append(answer["blocked"] if status == 200 else None)
    return results


def test_tables_are_rebuilt_from_the_changelog(classify_stack: Stack) -> None:
    stack = classify_stack
    number = "+17135550100"
    users = [f"+122055501{n:02d}" for n in range(PAIRS)]
    for n, user in enumerate(users):
        stack.inbound(f"loss-stop-{n}", user, number, "STOP")
    for n, user in enumerate(users[::4]):
        stack.inbound(f"loss-start-{n}", user, number, "START")
    expected = [n % 4 != 0 for n in range(PAIRS)]
    eventually(lambda: answers(stack, number, users) == expected, what="the block list to fill")
    _, history_before = stack.http("GET", f"/v1/blocklist/{number}/{users[0]}/history")

    assert stack.worker is not None
    stack.worker.terminate()
    stack.worker.wait(timeout=60)
    shutil.rmtree(stack.tmp / "worker-data")
    stack.start_worker()

    assert answers(stack, number, users) == expected
    _, history_after = stack.http("GET", f"/v1/blocklist/{number}/{users[0]}/history")
    assert history_after["events"] == history_before["events"]
    assert [e["action"] for e in history_after["events"]] == ["OPT_OUT", "OPT_IN"]
    # Redeliveries are still recognised: the dedupe table was rebuilt too.
    stack.inbound("loss-stop-1", users[1], number, "STOP")
    stack.inbound("loss-after", users[0], number, "STOP")
    eventually(lambda: answers(stack, number, users[:1]) == [True], what="a new STOP")
    assert "redelivered message loss-stop-1 ignored" in stack.worker_log_text()
