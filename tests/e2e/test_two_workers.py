"""Two classify workers share the partitions; either one answers every lookup correctly, and
when one dies the other takes its partitions (warm, from its standby copy) within a bound."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from optout.streams.config import EMBEDDED_SESSION_TIMEOUT_SECONDS
from optout.streams.embedded.broker import free_port
from tests.support import Stack, configure, eventually

pytestmark = pytest.mark.e2e
PAIRS = 24
# Kill to correct answers for every pair: the dead member's session timeout, a group join (half
# the session timeout on the embedded broker) and the standby partitions made active (under 0.1 s:
# they are warm). The bound leaves room for a busy CI machine.
TAKEOVER_BOUND = EMBEDDED_SESSION_TIMEOUT_SECONDS + 20


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    yield from start_two_workers(tmp_path_factory, "two-workers")


@pytest.fixture(params=["1", "0"], ids=["standby", "no-standby"])
def two_workers_to_kill(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[Stack, str]]:
    """Two workers of their own, with a standby copy of each partition or none (the survivor
    then restores the dead worker's partitions from the changelog while it is asked)."""
    yield from start_two_workers(
        tmp_path_factory, "failover", OPTOUT_STANDBY_REPLICAS=request.param
    )


@pytest.fixture(scope="module")
def two_workers_committing_rarely(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Stack, str]]:
    """Two workers whose group commits come a minute apart: only asking each other shows how
    far they have classified."""
    yield from start_two_workers(
        tmp_path_factory, "rare-commits", OPTOUT_COMMIT_INTERVAL_SECONDS="60"
    )


def start_two_workers(
    tmp_path_factory: pytest.TempPathFactory, name: str, **env: str
) -> Iterator[tuple[Stack, str]]:
    """The stack's worker and a second one, both running classify; the second one's URL."""
    with Stack(tmp_path_factory.mktemp(name), agents="classify", **env) as stack:
        second_port = free_port()
        second = stack.spawn_worker(second_port, "second")
        try:
            stack.wait_ready(second, second_port)
            stack.wait_ready()
            yield stack, f"http://127.0.0.1:{second_port}"
        finally:
            second.terminate()
            second.wait(timeout=30)


def ask(stack: Stack, web_url: str, number: str, sender: str) -> bool | None:
    status, answer = stack.http("GET", f"/v1/blocklist/{number}/{sender}", base=web_url)
    return answer["blocked"] if status == 200 else None


def check_all(stack: Stack, web_url: str, number: str, users: list[str]) -> tuple[int, list]:
    pairs = [{"number": number, "sender": u} for u in users]
    status, answer = stack.http("POST", "/v1/blocklist/check", {"pairs": pairs}, base=web_url)
    return status, [r["blocked"] for r in answer["results"]] if status == 200 else []


def half_stopped(stack: Stack, number: str, name: str, area_code: str) -> tuple[list, list]:
    """PAIRS * 2 users of `number`, the first half of whom text STOP: (all users, stopped)."""
    users = [f"+1{area_code}55501{n:02d}" for n in range(PAIRS * 2)]
    for n, user in enumerate(users[:PAIRS]):
        stack.inbound(f"{name}-{n}", user, number, "STOP")
    return users, users[:PAIRS]


def test_lookups_are_right_from_either_worker(two_workers: tuple[Stack, str]) -> None:
    stack, second_url = two_workers
    number = "+12195550100"
    users, stopped = half_stopped(stack, number, "two", "503")

    for web_url in (stack.web_url, second_url):
        for user in users:
            eventually(
                lambda u=user, w=web_url: ask(stack, w, number, u) is (u in stopped),
                what=f"{user} from {web_url}",
            )
        assert check_all(stack, web_url, number, users) == (200, [u in stopped for u in users])

    logs = [(stack.tmp / name).read_text() for name in ("worker.log", "second.log")]
    assert all("OPT_OUT (exact_keyword)" in log for log in logs), "one worker did all the work"


def test_a_lookup_waits_for_the_other_workers_partitions_by_asking_it_not_for_its_commit(
    two_workers_committing_rarely: tuple[Stack, str],
) -> None:
    """A lookup waits until every inbound message on the broker when it was asked is classified,
    on every partition (a STOP keyed by something else may be on any): the other worker's
    partitions by asking it how far it got. With commits a minute apart, a wait for them would
    outlast the lookup's 2 s and answer 503."""
    stack, second_url = two_workers_committing_rarely
    number = "+16025550180"
    users, stopped = half_stopped(stack, number, "rare", "517")
    expected = [u in stopped for u in users]
    for web_url in (stack.web_url, second_url):
        eventually(lambda w=web_url: check_all(stack, w, number, users) == (200, expected),
                   what=f"the STOPs from {web_url}")  # fmt: skip
    answers = []
    for n in range(6):  # inbound traffic on every partition, a lookup after each round
        for m, user in enumerate(users):
            stack.inbound(f"rare-chat-{n}-{m}", user, number, "see you at 5")
        answers += [
            check_all(stack, web_url, number, users) for web_url in (stack.web_url, second_url)
        ]
    assert answers == [(200, expected)] * len(answers)
    logs = "".join((stack.tmp / name).read_text() for name in ("worker.log", "second.log"))
    assert all(f"message rare-chat-5-{m} " in logs for m in range(len(users))), "all classified"


def test_a_brand_block_is_answered_for_every_number_of_the_brand_from_either_worker(
    two_workers: tuple[Stack, str],
) -> None:
    stack, second_url = two_workers
    texted, other = "+18005550181", "+18005550182"
    for number in (texted, other):
        configure(stack, number, brand_id="acme-481", opt_out_scope="brand")
    users, stopped = half_stopped(stack, texted, "brand", "512")
    expected = (200, [u in stopped for u in users])
    for web_url in (stack.web_url, second_url):
        eventually(lambda w=web_url: check_all(stack, w, other, users) == expected, what=web_url)
        _, answer = stack.http("GET", f"/v1/blocklist/{other}/{stopped[0]}", base=web_url)
        assert answer["scope"] == "brand:acme-481" and answer["texted"] == texted


def test_when_one_worker_dies_the_other_answers_every_pair_right_or_503_within_the_bound(
    two_workers_to_kill: tuple[Stack, str],
) -> None:
    stack, survivor_url = two_workers_to_kill
    number = "+16025550100"
    users, stopped = half_stopped(stack, number, "failover", "515")
    expected = (200, [u in stopped for u in users])
    eventually(lambda: check_all(stack, survivor_url, number, users) == expected, what="all")
    killed_log = stack.worker_log_text()
    assert any(f"message failover-{n} " in killed_log for n in range(PAIRS)), "it owns pairs"

    killed_at = time.monotonic()
    stack.kill_worker()
    # The other half text STOP while the partitions move: none may be left unclassified.
    for n, user in enumerate(users[PAIRS:]):
        stack.inbound(f"failover-late-{n}", user, number, "STOP")
    statuses: Counter[int] = Counter()
    while (answer := check_all(stack, survivor_url, number, users)) != (200, [True] * len(users)):
        statuses[answer[0]] += 1
        # While partitions move: "try again" (503), never a wrong answer or a 500; the late
        # STOPs may not be applied yet.
        assert answer[0] in (200, 503), answer
        if answer[0] == 200:
            assert answer[1][:PAIRS] == [True] * PAIRS, answer
        assert time.monotonic() - killed_at < TAKEOVER_BOUND, f"no takeover; answers {statuses}"
        time.sleep(0.2)
    takeover = time.monotonic() - killed_at
    print(f"takeover after {takeover:.1f}s; answers meanwhile: {dict(statuses)}")

    survivor_log = (stack.tmp / "second.log").read_text()
    standby = stack.extra_env["OPTOUT_STANDBY_REPLICAS"] == "1"
    assert ("Reading Starts At - Standby" in survivor_log) is standby, "standby partitions"
