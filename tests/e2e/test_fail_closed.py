"""Consent answers fail closed: a copy of the block list that may be behind answers "unknown"
(503 with Retry-After, ConsentUnknown in the reader), never "not blocked". Each test makes the
copy lag for real: a lookup replica and a reader that have not caught up, and a worker restoring
a long changelog (and the settings of 20,000 brand-scoped numbers) while it is asked, and
while it plans an import."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiokafka import AIOKafkaProducer

from optout.console.replica import add_console
from optout.schemas import AvroSerde
from optout.streams.bench.traffic import bench_number
from optout.streams.embedded.broker import free_port
from optout.streams.exceptions import ConsentUnknown
from optout.streams.rules.number_settings import default_settings
from optout.streams.rules.partitioning import end_user_partition
from optout.streams.topics import ensure_topics
from optout.tables.client.blocklist_reader import BlocklistReader
from optout.tables.client.lookup_replica import lookup_app
from optout.tables.keys import pair_key
from tests.support import AUTH, REPLICATION, Stack, blocked, eventually

pytestmark = pytest.mark.e2e

BRAND = "brand:acme-lag"
MEMBER = "+12315550100"  # a number of the brand, with its settings among 20,000 others
USERS = [f"+1231555{n:04d}" for n in range(101, 161)]  # blocked in the brand, restored last
FILLER_ENTRIES = 40_000
SETTINGS_RECORDS = 20_000
PARTITIONS = 4


def test_a_replica_and_a_reader_that_have_not_caught_up_have_no_answer(
    stack: Stack, tmp_path: Path
) -> None:
    number, user = "+12125550180", "+14155550180"
    stack.http("POST", f"/v1/blocklist/{number}/{user}", {"reason": "fail closed"}, AUTH)
    eventually(lambda: blocked(stack, number, user), what="the block")
    stack.run(replica_before_and_after(stack, tmp_path / "copy", number, user))


async def replica_before_and_after(stack: Stack, path: Path, number: str, user: str) -> None:
    reader = BlocklistReader(stack.broker.bootstrap, path)
    with pytest.raises(ConsentUnknown):
        reader.is_blocked(number, user)
    with pytest.raises(ConsentUnknown):
        reader.consent(number, user)
    port = free_port()
    runner = web.AppRunner(lookup_app(reader, add_console), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    following = None
    try:
        async with aiohttp.ClientSession() as session:
            asked = [
                session.get(f"{base}/v1/blocklist/{number}/{user}"),
                session.post(
                    f"{base}/v1/blocklist/check",
                    json={"pairs": [{"number": number, "sender": user}]},
                ),
                session.get(f"{base}/console/pair", params={"number": number, "sender": user}),
                session.get(f"{base}/console/number", params={"number": number}),
            ]
            for request in asked:
                async with request as response:
                    assert response.status == 503, await response.text()
                    assert response.headers["Retry-After"] == "1"
            following = asyncio.ensure_future(reader.run())
            while not reader.caught_up:
                await asyncio.sleep(0.05)
            async with session.get(f"{base}/v1/blocklist/{number}/{user}") as response:
                assert response.status == 200 and (await response.json())["blocked"] is True
        assert reader.is_blocked(number, user)
    finally:
        if following is not None:
            following.cancel()
        await runner.cleanup()
        reader.close()


async def fill(bootstrap: str) -> None:
    """20,000 numbers' settings (MEMBER's among them: brand scope), FILLER_ENTRIES blocks in
    number scopes, and then the brand's blocks of USERS, last on the changelog."""
    settings_serde = AvroSerde("number_settings", "number-settings")
    entry_serde = AvroSerde("blocklist_entry", "blocklist-changelog")
    await ensure_topics(bootstrap, PARTITIONS, REPLICATION)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=262144)
    await producer.start()
    now = int(time.time() * 1000)

    def entry(scope: str, number: str, user: str, n: int) -> bytes:
        return entry_serde.encode({
            "business_number": number, "end_user_number": user, "scope": scope,
            "blocked": True, "since": now, "keyword": "STOP", "message_id": f"lag-{n}",
            "source": "keyword", "confirmed_at": now, "reason": None, "actor": None,
            "received_at": now, "position": None,
        })  # fmt: skip

    try:
        for n in range(SETTINGS_RECORDS):
            number = MEMBER if n == SETTINGS_RECORDS - 1 else bench_number(5000 + n)
            scoped = {"brand_id": "acme-lag", "opt_out_scope": "brand", "scope": BRAND}
            record = default_settings(number, "Acme", "help@acme.test") | scoped
            await producer.send("number-settings", settings_serde.encode(record), number.encode())
        for n in range(FILLER_ENTRIES):
            number, user = bench_number(n % 97), bench_number(100_000 + n)
            await producer.send(
                "blocklist-changelog",
                entry(f"number:{number}", number, user, n),
                key=pair_key(number, user),
                partition=end_user_partition(user, PARTITIONS),
            )
        for n, user in enumerate(USERS):
            await producer.send(
                "blocklist-changelog",
                entry(BRAND, MEMBER, user, FILLER_ENTRIES + n),
                key=pair_key(BRAND, user),
                partition=end_user_partition(user, PARTITIONS),
            )
        await producer.flush()
    finally:
        await producer.stop()


def plan(base: str, user: str) -> tuple[int, str | None]:
    """A dry run of an imported opt-out older than the user's block: what it would do."""
    line = {"line": 2, "number": MEMBER, "user": user, "action": "opt_out", "at": "2024-01-01",
            "source": "crm"}  # fmt: skip
    body = json.dumps({"file": "lag.csv", "lines": [line]}).encode()
    request = urllib.request.Request(f"{base}/v1/consent/import", body, AUTH)
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            outcomes = json.loads(reply.read())["outcomes"]
            return reply.status, next(name for name, count in outcomes.items() if count)
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, OSError):
        return 0, None  # not listening yet


def answer(base: str, user: str) -> tuple[int, bool | None]:
    try:
        with urllib.request.urlopen(f"{base}/v1/blocklist/{MEMBER}/{user}", timeout=5) as reply:
            return reply.status, json.loads(reply.read())["blocked"]
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, OSError):
        return 0, None  # not listening yet


def test_a_worker_restoring_its_block_list_and_settings_answers_right_or_503(
    tmp_path: Path,
) -> None:
    stack = Stack(tmp_path, agents="classify", OPTOUT_PREFILL_TABLES="false")
    try:
        stack.start(with_broker=False)  # the stand-ins; the broker next, the worker after the fill
        stack.broker.start()
        stack.run(fill(stack.broker.bootstrap))
        port = free_port()
        worker = stack.spawn_worker(port, "restoring")
        base = f"http://127.0.0.1:{port}"
        seen: Counter[tuple[int, bool | None]] = Counter()
        plans: Counter[tuple[int, str | None]] = Counter()
        deadline = time.monotonic() + 180
        try:
            while True:
                answers = [answer(base, user) for user in USERS[::6]]
                seen.update(answers)
                assert (200, False) not in answers, f"a blocked pair answered not blocked: {seen}"
                planned = [plan(base, user) for user in USERS[::12]]
                plans.update(planned)
                # An older opt-out planned as new would mean the plan read a copy behind.
                assert (200, "new block") not in planned, f"planned on a copy behind: {plans}"
                if all(a == (200, True) for a in answers) and all(p[0] == 200 for p in planned):
                    break
                assert worker.poll() is None and time.monotonic() < deadline, seen
                time.sleep(0.05)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        print(f"answers while the worker started and restored: {dict(seen)}; plans: {dict(plans)}")
        assert seen[(503, None)] > 0, "the copy never lagged: the test proved nothing"
        assert plans[(503, None)] > 0, "the full copy never lagged: the plans proved nothing"
    finally:
        stack.stop()
