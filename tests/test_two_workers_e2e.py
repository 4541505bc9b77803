"""Two classify workers share the partitions; either one answers every lookup correctly."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from optout.streams.broker import free_port
from tests.conftest import Stack, eventually

pytestmark = pytest.mark.e2e
PAIRS = 24


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    stack = Stack(tmp_path_factory.mktemp("two-workers"), agents="classify")
    second: subprocess.Popen[bytes] | None = None
    try:
        stack.start()
        second_port = free_port()
        second = stack.spawn_worker(second_port, "second")
        stack.wait_ready(second, second_port)
        stack.wait_ready()
        yield stack, f"http://127.0.0.1:{second_port}"
    finally:
        if second is not None:
            second.terminate()
            second.wait(timeout=30)
        stack.stop()


def ask(stack: Stack, web_url: str, number: str, sender: str) -> bool | None:
    status, answer = stack.http("GET", f"/v1/blocklist/{number}/{sender}", base=web_url)
    return answer["blocked"] if status == 200 else None


def test_lookups_are_right_from_either_worker(two_workers: tuple[Stack, str]) -> None:
    stack, second_url = two_workers
    number = "+15551200000"
    users = [f"+1555130{n:04d}" for n in range(PAIRS * 2)]
    stopped = users[:PAIRS]
    for n, user in enumerate(stopped):
        stack.inbound(f"two-{n}", user, number, "STOP")

    for web_url in (stack.web_url, second_url):
        for user in users:
            eventually(
                lambda u=user, w=web_url: ask(stack, w, number, u) is (u in stopped),
                what=f"{user} from {web_url}",
            )
        pairs = [{"number": number, "sender": u} for u in users]
        status, answer = stack.http("POST", "/v1/blocklist/check", {"pairs": pairs}, base=web_url)
        assert status == 200
        assert [r["blocked"] for r in answer["results"]] == [u in stopped for u in users]

    logs = [(stack.tmp / name).read_text() for name in ("worker.log", "second.log")]
    assert all("OPT_OUT (exact_keyword)" in log for log in logs), "one worker did all the work"
