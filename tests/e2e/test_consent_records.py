"""Consent records, end to end on `optout up` through the command line a business would use: a
10,000-line import (dry run, then applied, then again changing nothing) that lookups and the gate
honour, a STOP after an imported opt-in, an opt-in recorded and relied on by a later send of a
brand that sends marketing on recorded consent only, a deactivation file, the auditor's export;
and on the test stack, a carrier's refusal that says the recipient opted out."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from optout.streams.config import Config
from optout.streams.embedded.broker import free_port
from optout.streams.embedded.standins import Scripted
from optout.streams.rules.partitioning import end_user_partition
from tests.support import AUTH, Stack, blocked, events_for, eventually, send_results_for

pytestmark = pytest.mark.e2e

TOKEN = "consent-admin-token"
LISTED = "+12125550700"  # the number of the imported list
OTHER = "+12125550799"  # a number the list never names
BRAND_NUMBER = "+12125550710"  # in brand "recs", whose scope is the brand
ON_RECORD = "+12125550720"  # in brand "on-record", marketing on recorded consent only


def user(n: int) -> str:
    return f"+1415600{n:04d}"


class Up:
    """A running `optout up` and the command line pointed at it."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OPTOUT_")} | {
            "OPTOUT_HOME": str(home / "home"),
            "OPTOUT_DATA_DIR": str(home / "data"),
            "OPTOUT_EMBEDDED_BROKER_PORT": str(free_port()),
            "OPTOUT_WEB_PORT": str(free_port()),
            "OPTOUT_UP_CARRIER_PORT": str(free_port()),
            "OPTOUT_UP_WEBHOOK_PORT": str(free_port()),
            "OPTOUT_ADMIN_TOKENS": f"ops={TOKEN}",
            "OPTOUT_TOKEN": TOKEN,
        }
        self.web = f"http://127.0.0.1:{self.env['OPTOUT_WEB_PORT']}"

    def optout(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "optout.streams.cli", *args]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=120)
        assert not ok or done.returncode == 0, done.stderr
        return done

    def json(self, *args: str) -> dict:
        return json.loads(self.optout(*args).stdout)

    def lookups(self, number: str, users: list[str], kind: str | None = None) -> list[dict]:
        """The answers for many end users, 1,000 a request."""
        answers = []
        for start in range(0, len(users), 1000):
            pairs = [{"number": number, "sender": u} for u in users[start : start + 1000]]
            body = json.dumps({"pairs": pairs} | ({"kind": kind} if kind else {})).encode()
            request = urllib.request.Request(
                f"{self.web}/v1/blocklist/check", body, {"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=30) as reply:
                answers += json.loads(reply.read())["results"]
        return answers

    def send(self, number: str, to: str, kind: str = "marketing") -> dict:
        return self.json("send", "--from", number, "--to", to, "--text", "Sale!", "--kind", kind,
                         "--wait")  # fmt: skip


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    running = Up(tmp_path_factory.mktemp("consent-up"))
    log_path = running.home / "up.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "optout.streams.cli", "up"],
            env=running.env,
            stdout=log,
            stderr=log,
        )
    try:

        def answers() -> bool:
            assert process.poll() is None, log_path.read_text()[-3000:]
            return running.optout("blocklist", "check", LISTED, user(0), ok=False).returncode == 0

        eventually(answers, timeout=150, what="optout up to answer lookups")
        running.optout("brands", "set", "recs", "--opt-out-scope", "brand")
        running.optout("numbers", "set", BRAND_NUMBER, "--brand-id", "recs")
        running.optout("brands", "set", "on-record", "--recorded-consent", "on")
        running.optout("numbers", "set", ON_RECORD, "--brand-id", "on-record")
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def write_list(path: Path) -> None:
    """10,000 lines: 6,000 opt-outs at LISTED; 2,000 opt-ins for marketing; 1,000 opt-outs in
    the brand scope; 450 end users who opted out and later back in; 100 refused lines."""
    with path.open("w", newline="") as file:
        out = csv.writer(file)
        out.writerow(["number", "user", "action", "at", "source", "kind", "note"])
        for n in range(6000):
            note = '=HYPERLINK("http://x")' if n == 0 else ""
            out.writerow([LISTED, user(n), "opt_out", f"2024-01-01T00:{n // 600:02d}:00Z", "crm",
                          "", note])  # fmt: skip
        for n in range(6000, 8000):
            out.writerow([LISTED, user(n), "opt_in", "2024-02-01", "web", "marketing", ""])
        for n in range(8000, 9000):
            out.writerow(["brand:recs", user(n), "opt_out", "2024-01-05", "crm", "", ""])
        for n in range(9000, 9450):
            out.writerow([LISTED, user(n), "opt_out", "2024-01-01", "crm", "", ""])
            out.writerow([LISTED, user(n), "opt_in", "2024-03-01", "paper", "", ""])
        for n in range(100):
            out.writerow([LISTED, f"415-600-{n:04d}", "opt_out", "2024-01-01", "crm", "", ""])


def test_an_import_is_honoured_once_and_a_later_stop_wins(up: Up, tmp_path: Path) -> None:
    listed = tmp_path / "previous-provider.csv"
    write_list(listed)

    planned = up.json("consent", "import", str(listed), "--json")
    assert planned["lines"] == 10_000 and not planned["applied"]
    assert planned["outcomes"] == {"new block": 7450, "lift": 450, "opt-in recorded": 2000,
                                   "already so": 0, "a later change wins": 0}  # fmt: skip
    assert len(planned["refused"]) == 100
    assert planned["refused"][0]["line"] == 9902 and "E.164" in planned["refused"][0]["reason"]
    assert not any(up.lookups(LISTED, [user(0), user(1)])[i]["blocked"] for i in (0, 1))

    applied = up.json("consent", "import", str(listed), "--apply", "--json")
    assert applied["sent"] == 9900
    applied_everywhere(up, tmp_path)
    blocked_users = [user(n) for n in range(6000)]
    assert all(a["blocked"] for a in up.lookups(LISTED, blocked_users))
    assert all(a["blocked"] for a in up.lookups(BRAND_NUMBER, [user(n) for n in range(8000, 9000)]))
    opted_in = up.lookups(LISTED, [user(n) for n in range(6000, 8000)])
    back_in = up.lookups(LISTED, [user(n) for n in range(9000, 9450)])
    assert not any(a["blocked"] for a in opted_in + back_in)
    assert not any(a["blocked"] for a in up.lookups(OTHER, blocked_users[:1000]))
    first = up.lookups(LISTED, [user(0)])[0]
    assert first["source"] == "import" and first["since"].startswith("2024-01-01T00:00")
    rejected = up.send(LISTED, user(1))
    assert rejected["status"] == "REJECTED" and "an imported opt-out" in rejected["reason"]
    assert up.send(LISTED, user(6001))["status"] == "SENT"

    again = up.json("consent", "import", str(listed), "--json")
    assert again["outcomes"]["new block"] == again["outcomes"]["lift"] == 0
    assert again["outcomes"]["opt-in recorded"] == 0
    assert again["outcomes"]["already so"] + again["outcomes"]["a later change wins"] == 9900
    up.json("consent", "import", str(listed), "--apply", "--json")
    applied_everywhere(up, tmp_path)
    for n in (0, 1, 6001, 8001, 9001):
        number = BRAND_NUMBER if 8000 <= n < 9000 else LISTED
        evidence = up.json("blocklist", "evidence", number, user(n))
        made = [c for c in evidence["changes"] if c["source"] == "import"]
        assert len(made) == (2 if 9000 <= n < 9450 else 1), evidence["changes"]
        assert all(c["origin"].startswith("previous-provider.csv:") for c in made)
    history = up.json("blocklist", "evidence", LISTED, user(0))["changes"]
    assert history[0]["origin"] == "previous-provider.csv:2"

    # A STOP after an imported opt-in blocks; an opt-in older than it changes nothing.
    up.optout("inject", "--from", user(6002), "--to", LISTED, "--text", "STOP")
    eventually(lambda: up.lookups(LISTED, [user(6002)])[0]["blocked"], what="the STOP applied")
    older = tmp_path / "older.jsonl"
    line = {"number": LISTED, "user": user(6002), "action": "opt_in",
            "at": "2025-06-01T12:00:00+02:00", "source": "web"}  # fmt: skip
    older.write_text(json.dumps(line) + "\n")
    assert up.json("consent", "import", str(older), "--json")["outcomes"][
        "a later change wins"] == 1  # fmt: skip

    exported = tmp_path / "audit.csv"
    up.optout("consent", "export", "--output", str(exported))
    rows = list(csv.DictReader(exported.open()))
    assert len([r for r in rows if r["change"] == "opt-in" and r["source"] == "import"]) == 2450
    formula = [r for r in rows if r["end_user_number"] == user(0)]
    assert formula[0]["reason"].startswith("'=HYPERLINK")


def applied_everywhere(up: Up, tmp_path: Path) -> None:
    """Wait until every command sent so far is applied: a sentinel opt-out in each partition
    (commands are applied in order within one)."""
    partitions = Config().partitions
    sentinels: dict[int, str] = {}
    n = 0
    while len(sentinels) < partitions:
        sentinel = f"+1415601{n:04d}"
        sentinels.setdefault(end_user_partition(sentinel, partitions), sentinel)
        n += 1
    path = tmp_path / "sentinels.csv"
    path.write_text("number,user,action,at,source\n" + "".join(
        f"{LISTED},{s},opt_out,2024-01-01,sentinel\n" for s in sentinels.values()))  # fmt: skip
    up.optout("consent", "import", str(path), "--apply")
    eventually(lambda: all(a["blocked"] for a in up.lookups(LISTED, list(sentinels.values()))),
               what="the sentinels applied")  # fmt: skip


def test_a_send_relies_on_a_recorded_opt_in_and_the_evidence_shows_it(up: Up) -> None:
    person = user(9700)
    refused = up.send(ON_RECORD, person)
    assert refused["status"] == "REJECTED" and "no recorded opt-in" in refused["reason"]
    assert up.send(ON_RECORD, person, "informational")["status"] == "SENT"
    recorded = up.json(
        "consent", "opt-in", "--number", ON_RECORD, "--user", person, "--method", "web",
        "--kinds", "marketing", "--disclosure-text", "Msg & data rates may apply. Reply STOP",
        "--disclosure-version", "v3", "--page", "https://acme.example/join",
        "--client-address", "203.0.113.7",
    )  # fmt: skip
    opt_in_id = recorded["accepted"]
    eventually(lambda: up.lookups(ON_RECORD, [person], "marketing")[0]["opt_in"],
               what="the opt-in applied")  # fmt: skip
    sent = up.send(ON_RECORD, person)
    assert sent["status"] == "SENT" and sent["opt_in_id"] == opt_in_id
    evidence = up.json("blocklist", "evidence", ON_RECORD, person)
    assert evidence["now"]["opt_in"]["disclosure_version"] == "v3"
    (change,) = [c for c in evidence["changes"] if c["source"] == "opt_in"]
    assert "Reply STOP" in change["opt_in_record"] and "203.0.113.7" in change["opt_in_record"]
    page = up.optout("blocklist", "evidence", ON_RECORD, person, "--html", str(up.home / "e.html"))
    assert page.returncode == 0
    assert "Sends rely on the recorded opt-in" in (up.home / "e.html").read_text()


def test_a_deactivated_number_is_blocked_everywhere_until_a_new_opt_in(
    up: Up, tmp_path: Path
) -> None:
    person = user(9800)
    deactivations = tmp_path / "deactivations.csv"
    deactivations.write_text(f"number,date\n{person},2026-11-30\nnot-a-number,2026-11-30\n")
    planned = up.json("consent", "deactivations", str(deactivations), "--json")
    assert planned["outcomes"]["new block"] == 1 and len(planned["refused"]) == 1
    up.optout("consent", "deactivations", str(deactivations), "--apply")
    everywhere = (LISTED, OTHER, BRAND_NUMBER)
    eventually(lambda: all(up.lookups(n, [person])[0]["blocked"] for n in everywhere),
               what="blocked everywhere")  # fmt: skip
    assert up.lookups(OTHER, [person])[0]["scope"] == "all"
    assert up.json("consent", "deactivations", str(deactivations), "--json")["outcomes"][
        "already so"] == 1  # fmt: skip
    up.json("consent", "opt-in", "--number", OTHER, "--user", person, "--method", "paper",
            "--disclosure-text", "Signed form", "--disclosure-version", "2026-12")  # fmt: skip
    eventually(lambda: not up.lookups(OTHER, [person])[0]["blocked"], what="the new opt-in")
    assert up.lookups(LISTED, [person])[0]["blocked"]  # other numbers: still the deactivation


def test_a_carrier_refusal_saying_the_recipient_opted_out_blocks_them(stack: Stack) -> None:
    number, person = "+12125550730", "+14156020001"
    stack.carrier.script["/v1/messages"] = [
        Scripted(400, body={"code": 21610, "message": "Attempt to send to unsubscribed recipient"})
    ]
    body = {"from": number, "to": person, "text": "Hello", "message_id": "carrier-refused-1"}
    status, answer = stack.http("POST", "/v1/messages", body, AUTH)
    assert status == 202, answer
    eventually(lambda: blocked(stack, number, person), what="the carrier's opt-out applied")
    (event,) = events_for(stack, person)
    assert event["source"] == "carrier" and event["origin"] == "send carrier-refused-1"
    (result,) = eventually(lambda: send_results_for(stack, person), what="the send's result")
    assert result["status"] == "FAILED" and "21610" in result["reason"]
