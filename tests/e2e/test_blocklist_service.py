"""The block list as a service: manual changes, history, batch lookups, reader, listing, export."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

from optout.schemas import AvroSerde
from optout.streams.embedded.broker import free_port
from optout.streams.web.openapi import REPLICA_PATHS
from optout.tables.client.blocklist_reader import BlocklistReader
from tests.support import (
    ADMIN_TOKEN,
    AUTH,
    Stack,
    blocked,
    events_for,
    eventually,
    settle_and_assert_once,
)

pytestmark = pytest.mark.e2e


def cli(
    stack: Stack, *args: str, token: str | None = ADMIN_TOKEN
) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "OPTOUT_BROKER_URL": stack.broker.bootstrap,
        "OPTOUT_WEB_URL": stack.web_url,
    }
    env.pop("OPTOUT_TOKEN", None)
    if token:
        env["OPTOUT_TOKEN"] = token
    command = [sys.executable, "-m", "optout.streams.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_a_manual_add_shows_in_lookup_reader_history_and_events(
    stack: Stack, reader: BlocklistReader
) -> None:
    number, user = "+13055550101", "+12085550101"
    added = cli(stack, "blocklist", "add", number, user, "--reason", "asked by phone, ticket 42")
    assert added.returncode == 0, added.stderr

    eventually(lambda: blocked(stack, number, user), what="the manual block")
    _, answer = stack.lookup(number, user)
    assert answer["source"] == "manual" and answer["reason"] == "asked by phone, ticket 42"
    eventually(lambda: reader.is_blocked(number, user), what="the reader to see it")
    entry = reader.entry(number, user)
    assert entry is not None and entry["actor"] == "tester"
    (event,) = events_for(stack, user)
    assert (event["action"], event["source"], event["actor"]) == ("OPT_OUT", "manual", "tester")
    _, history = stack.http("GET", f"/v1/blocklist/{number}/{user}/history")
    assert [e["reason"] for e in history["events"]] == ["asked by phone, ticket 42"]

    removed = cli(stack, "blocklist", "remove", number, user, "--reason", "re-consented in store")
    assert removed.returncode == 0, removed.stderr
    eventually(lambda: not blocked(stack, number, user), what="the manual unblock")
    eventually(lambda: not reader.is_blocked(number, user), what="the reader to see it")
    assert [e["action"] for e in events_for(stack, user)] == ["OPT_OUT", "OPT_IN"]


def test_history_answers_a_point_in_time_question_across_stop_start_stop(stack: Stack) -> None:
    number, user = "+13055550102", "+12085550102"
    moments = []
    for n, text in enumerate(("STOP", "START", "STOP")):
        stack.inbound(f"h-{n}", user, number, text)
        settle_and_assert_once(stack, f"h-{n}")
        moments.append(int(time.time() * 1000))
    path = f"/v1/blocklist/{number}/{user}/history"

    _, before = stack.http("GET", f"{path}?at=1000")
    assert before["at"]["blocked"] is False and before["at"]["because"] is None
    expected = [(True, "h-0", "STOP"), (False, "h-1", "START"), (True, "h-2", "STOP")]
    for moment, (is_blocked, message_id, keyword) in zip(moments, expected, strict=True):
        _, answer = stack.http("GET", f"{path}?at={moment}")
        because = answer["at"]["because"]
        assert answer["at"]["blocked"] is is_blocked
        assert (because["message_id"], because["keyword"]) == (message_id, keyword)
    history = cli(stack, "blocklist", "history", number, user, "--at", str(moments[1]))
    assert history.returncode == 0 and '"blocked": false' in history.stdout


def test_without_a_valid_token_every_management_call_is_refused(stack: Stack) -> None:
    number, user = "+13055550103", "+12085550103"
    for token in (None, "not-the-token"):
        headers = {"Content-Type": "application/json"} | (
            {"Authorization": f"Bearer {token}"} if token else {}
        )
        calls = [
            ("POST", f"/v1/blocklist/{number}/{user}", {"reason": "x"}),
            ("DELETE", f"/v1/blocklist/{number}/{user}", {"reason": "x"}),
            ("GET", f"/v1/blocklist/{number}", None),
            ("PUT", f"/v1/numbers/{number}", {"brand_name": "Evil"}),
        ]
        for method, path, body in calls:
            status, answer = stack.http(method, path, body, headers)
            assert status == 401, (method, path, answer)
        assert (
            cli(stack, "blocklist", "add", number, user, "--reason", "x", token=token).returncode
            == 1
        )
    time.sleep(2)
    assert not blocked(stack, number, user)
    assert events_for(stack, user) == []
    assert stack.http("GET", f"/v1/numbers/{number}")[1]["stored"] is False


def test_batch_lookup_answers_every_pair_in_order(stack: Stack) -> None:
    number = "+13055550104"
    users = [f"+121055501{n:02d}" for n in range(40)]
    for user in users[:5]:
        stack.http("POST", f"/v1/blocklist/{number}/{user}", {"reason": "batch test"}, AUTH)
    eventually(lambda: all(blocked(stack, number, u) for u in users[:5]), what="five blocks")

    pairs = [{"number": number, "sender": u} for u in reversed(users)]
    status, answer = stack.http("POST", "/v1/blocklist/check", {"pairs": pairs})
    assert status == 200
    assert [r["sender"] for r in answer["results"]] == list(reversed(users))
    assert [r["blocked"] for r in answer["results"]] == [False] * 35 + [True] * 5

    too_many = {"pairs": [{"number": number, "sender": users[0]}] * 1001}
    assert stack.http("POST", "/v1/blocklist/check", too_many)[0] == 400
    status, answer = stack.http("POST", "/v1/blocklist/check", {"pairs": [{"number": "1"}]})
    assert status == 400 and "pairs[0]" in answer["error"]


def test_listing_pages_through_a_numbers_blocked_senders(stack: Stack) -> None:
    number = "+13055550105"
    users = [f"+121755501{n:02d}" for n in range(5)]
    for user in users:
        stack.http("POST", f"/v1/blocklist/{number}/{user}", {"reason": "list test"}, AUTH)

    def page(after: str | None = None, limit: int = 3) -> dict:
        query = f"?limit={limit}" + (f"&after={urllib.parse.quote(after)}" if after else "")
        return stack.http("GET", f"/v1/blocklist/{number}{query}", None, AUTH)[1]

    # Each pair's command is applied on its own partition, in no set order across pairs.
    eventually(lambda: all(blocked(stack, number, u) for u in users), what="five blocks")
    # The listing comes from the worker's full copy, which trails the changelog a little (its
    # lag is as of its last fetch): wait until the copy holds all five.
    eventually(lambda: len(page(limit=1000)["senders"]) == 5, what="the full copy")
    first = page()
    second = page(first["next"])
    listed = [s["sender"] for s in first["senders"] + second["senders"]]
    assert listed == users and second["next"] is None


def test_export_writes_csv_with_progress(stack: Stack, tmp_path: Path) -> None:
    number = "+13055550106"
    stack.http("POST", f"/v1/blocklist/{number}/+12185550101", {"reason": "export test"}, AUTH)
    eventually(lambda: blocked(stack, number, "+12185550101"), what="the block")
    output = tmp_path / "blocklist.csv"
    result = cli(stack, "blocklist", "export", "--number", number, "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert "reading block list [" in result.stderr and "exported 1 pairs" in result.stderr
    rows = list(csv.DictReader(io.StringIO(output.read_text())))
    assert [(r["end_user_number"], r["source"], r["reason"]) for r in rows] == [
        ("+12185550101", "manual", "export test")
    ]


def test_the_reader_catches_up_and_agrees_with_the_table(
    stack: Stack, reader: BlocklistReader
) -> None:
    eventually(lambda: reader.caught_up and sum(reader.lag().values()) == 0, what="caught up")
    pairs = [
        ("+13125550101", "+16025550101"),  # STOP in the pipeline tests
        ("+13125550102", "+16025550102"),  # STOP then START
        ("+13055550104", "+12105550100"),  # manual
        ("+13055550104", "+12105550139"),  # never blocked
    ]
    for number, user in pairs:
        eventually(
            lambda n=number, u=user: reader.is_blocked(n, u) == blocked(stack, n, u),
            what=f"reader and table to agree on {number}|{user}",
        )


def test_a_lookup_replica_answers_as_the_workers_do(stack: Stack, tmp_path: Path) -> None:
    number, users = "+13055550107", [f"+121955501{n:02d}" for n in range(6)]
    for user in users[:3]:
        stack.http("POST", f"/v1/blocklist/{number}/{user}", {"reason": "replica test"}, AUTH)
    eventually(lambda: all(blocked(stack, number, u) for u in users[:3]), what="three blocks")
    port = free_port()
    env = os.environ | {
        "OPTOUT_BROKER_URL": stack.broker.bootstrap,
        "OPTOUT_DATA_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "optout.streams.cli", "lookups", "--port", str(port)]
    replica = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        eventually(lambda: _answers(stack, base, "/healthz") == 200, what="the replica to catch up")
        for user in users:
            eventually(
                lambda u=user: (
                    stack.lookup(number, u)[1]
                    == stack.http("GET", f"/v1/blocklist/{number}/{u}", base=base)[1]
                ),
                what=f"the replica to agree on {user}",
            )
        pairs = {"pairs": [{"number": number, "sender": u} for u in users]}
        status, answer = stack.http("POST", "/v1/blocklist/check", pairs, base=base)
        assert status == 200
        assert [r["blocked"] for r in answer["results"]] == [True] * 3 + [False] * 3
        status, answer = stack.http("GET", f"/v1/blocklist/{number}/555", base=base)
        assert status == 400 and "E.164" in answer["error"]
        the_replicas_console_answers(base, number, users)
    finally:
        replica.terminate()
        assert replica.wait(timeout=30) == 0, replica.stderr.read() if replica.stderr else ""


def the_replicas_console_answers(base: str, number: str, users: list[str]) -> None:
    def text(path: str) -> str:
        with urllib.request.urlopen(base + path, timeout=10) as answer:
            return answer.read().decode()

    pair = text(f"/console/pair?{urlencode({'number': number, 'sender': users[0]})}")
    assert f"Blocked: {number} may not text {users[0]}" in pair and "replica test" in pair
    listing = text(f"/console/number?{urlencode({'number': number})}")
    assert all(u in listing for u in users[:3]) and users[3] not in listing
    assert text(f"/console/number.csv?{urlencode({'number': number})}").count("\n") == 4
    assert set(json.loads(text("/openapi.json"))["paths"]) == set(REPLICA_PATHS)
    # The same pages as a worker's (console/reading.py): without a query, the forms.
    assert "<form" in text("/console/pair") and "<form" in text("/console/number")


def _answers(stack: Stack, base: str, path: str) -> int:
    try:
        return stack.http("GET", path, base=base)[0]
    except OSError:
        return 0


def test_the_evidence_of_a_stop_has_its_text_rule_confirmation_and_acceptance(
    stack: Stack, tmp_path: Path
) -> None:
    number, user = "+12125550601", "+14155550101"
    stack.inbound("evidence-1", user, number, "STOP")
    settle_and_assert_once(stack, "evidence-1")
    path = f"/v1/blocklist/{number}/{user}/evidence"
    found = eventually(
        lambda: (
            (answer := stack.http("GET", path)[1])["changes"]
            and answer["changes"][0]["confirmation_accepted"]
            and answer
        ),
        what="the evidence with the carrier's acceptance",
    )
    (change,) = found["changes"]
    assert change["text"] == "STOP" and change["rule"] == "exact_keyword" and change["ruleset"]
    assert change["confirmation"].startswith("Acme: You are unsubscribed")
    assert found["now"]["blocked"] and change["scope"] == f"number:{number}"
    printed = cli(stack, "blocklist", "evidence", number, user)
    assert printed.returncode == 0 and '"STOP"' in printed.stdout
    assert "You are unsubscribed" in printed.stdout
    page = tmp_path / "evidence.html"
    written = cli(stack, "blocklist", "evidence", number, user, "--html", str(page))
    assert written.returncode == 0 and "<h1>Consent evidence</h1>" in page.read_text()


def test_a_number_with_anything_around_it_is_refused_never_read_as_another_key(
    stack: Stack,
) -> None:
    """ "+1406...\\n" is no number: a lookup once answered it (not blocked) for a key no STOP
    wrote, and a hand-made block of it was accepted and applied there."""
    number, user = "+13025550191", "+14065550193"
    status, _ = stack.http("POST", f"/v1/blocklist/{number}/{user}", {"reason": "by phone"}, AUTH)
    assert status == 202
    eventually(lambda: blocked(stack, number, user), what="the block")
    for around in ("%0A", "%0D%0A", "%20", "%09"):
        for path in (
            f"/v1/blocklist/{number}/{user}{around}",
            f"/v1/blocklist/{number}{around}/{user}",
        ):
            status, answer = stack.http("GET", path)
            assert status == 400 and "invalid number" in answer["error"], (path, answer)
            status, answer = stack.http("GET", path + "/history")
            assert status == 400 and "invalid number" in answer["error"], (path, answer)
            status, answer = stack.http("POST", path, {"reason": "by phone"}, AUTH)
            assert status == 400 and "invalid number" in answer["error"], (path, answer)
    fullwidth = urllib.parse.quote("+１４０６５５５０１９３")
    status, answer = stack.http("GET", f"/v1/blocklist/{number}/{fullwidth}")
    assert status == 400 and "invalid number" in answer["error"]
    pairs = {
        "pairs": [{"number": number, "sender": user}, {"number": number, "sender": user + "\n"}]
    }
    status, answer = stack.http("POST", "/v1/blocklist/check", pairs)
    assert status == 400 and answer["error"].startswith("pairs[1]: invalid number"), answer


def test_a_command_with_a_malformed_number_is_dead_lettered_with_the_reason_not_applied(
    stack: Stack,
) -> None:
    number, user = "+13025550192", "+14065550194"
    serde = AvroSerde("blocklist_command", "blocklist-commands")
    command = {
        "command_id": "cmd-nl-1", "action": "OPT_OUT", "business_number": number,
        "end_user_number": user + "\n", "scope": None, "reason": "by phone", "actor": "support",
        "source": None, "requested_at": int(time.time() * 1000),
    }  # fmt: skip
    value = serde.encode(command)
    stack.produce("blocklist-commands", value, key=(user + "\n").encode())
    (dead,) = eventually(
        lambda: [d for d in stack.read_topic("dead-letters", "dead_letter") if d["value"] == value],
        what="the command's dead letter",
    )
    assert dead["source_topic"] == "blocklist-commands"
    assert f"invalid number: end_user_number {user + chr(10)!r}" in dead["reason"]
    events = stack.read_topic("optout-events", "optout_event")
    assert not [e for e in events if e["message_id"] == "cmd-nl-1"]
