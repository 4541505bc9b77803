"""The README's quick start, as a new user runs it: `optout up`, then `optout inject` and
`optout blocklist check` from another shell with no flags."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from optout.streams.embedded.broker import free_port
from tests.support import eventually

pytestmark = pytest.mark.e2e


def optout(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "optout.streams.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_up_inject_and_check(tmp_path: Path) -> None:
    broker_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPTOUT_")} | {
        "OPTOUT_HOME": str(tmp_path / "home"),
        "OPTOUT_EMBEDDED_BROKER_PORT": str(broker_port),
        "OPTOUT_WEB_PORT": str(free_port()),
        "OPTOUT_UP_CARRIER_PORT": str(free_port()),
        "OPTOUT_UP_WEBHOOK_PORT": str(free_port()),
    }
    log_path = tmp_path / "up.log"
    with log_path.open("w") as log:
        up = subprocess.Popen(
            [sys.executable, "-m", "optout.streams.cli", "up"], env=env, stdout=log, stderr=log
        )
    try:

        def answers() -> bool:
            assert up.poll() is None, log_path.read_text()[-3000:]
            return (
                optout("blocklist", "check", "+12125550100", "+14155550100", env=env).returncode
                == 0
            )

        eventually(answers, timeout=150, what="optout up to answer lookups")
        # Settings a number leaves empty come from `optout up`'s own defaults (help contact...).
        configured = optout(
            "numbers", "set", "+12125550102", "--webhook-url", "https://hooks.example.com/in",
            env=env,
        )  # fmt: skip
        assert configured.returncode == 0, configured.stderr
        assert json.loads(configured.stdout)["webhook_url"] == "https://hooks.example.com/in"
        injected = optout(
            "inject", "--from", "+14155550100", "--to", "+12125550100", "--text", "STOP", env=env
        )
        assert injected.returncode == 0, injected.stderr
        message_id = json.loads(injected.stdout)["message_id"]

        def blocked() -> bool:
            check = optout("blocklist", "check", "+12125550100", "+14155550100", env=env)
            assert check.returncode == 0, check.stderr
            return json.loads(check.stdout)["blocked"]

        eventually(blocked, what="the STOP to block the pair")
        eventually(lambda: "webhook receiver received" in log_path.read_text(), what="webhook")
        eventually(lambda: "carrier API stand-in received" in log_path.read_text(), what="reply")
        assert message_id in log_path.read_text()
        revoke_all_across_a_brand(env)
        sends_through_the_gate(env)
        evidence_and_regions(env)
        the_console_shows_a_stop(env, log_path.read_text())
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=60)
    assert not (tmp_path / "home" / "up.json").exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", broker_port)) != 0, "embedded broker still running"
    refused = optout(
        "inject", "--from", "+14155550100", "--to", "+12125550100", "--text", "x", env=env
    )
    assert refused.returncode == 1 and "optout up" in refused.stderr


def revoke_all_across_a_brand(env: dict[str, str]) -> None:
    """The README's consent-scope example: one STOP covers every number of the brand."""
    for number, brand in (("+18005550401", "acme"), ("+18005550402", "acme"),
                          ("+18005550403", "other")):  # fmt: skip
        done = optout("numbers", "set", number, "--brand-id", brand, "--opt-out-scope", "brand",
                      env=env)  # fmt: skip
        assert done.returncode == 0 and not done.stderr, done.stderr
    injected = optout(
        "inject", "--from", "+14155550400", "--to", "+18005550401", "--text", "STOP", env=env
    )
    assert injected.returncode == 0, injected.stderr

    def check(number: str) -> dict:
        answer = optout("blocklist", "check", number, "+14155550400", env=env)
        assert answer.returncode == 0, answer.stderr
        return json.loads(answer.stdout)

    eventually(lambda: check("+18005550402")["blocked"], what="the brand block at another number")
    assert check("+18005550402")["scope"] == "brand:acme"
    assert check("+18005550403")["blocked"] is False


def sends_through_the_gate(env: dict[str, str]) -> None:
    """The README's send-gate example: a send to a user who texted STOP is rejected."""
    injected = optout(
        "inject", "--from", "+14155550500", "--to", "+18005550501", "--text", "STOP", env=env
    )
    assert injected.returncode == 0, injected.stderr
    results = []
    for number, text in (("+18005550501", "Sale!"), ("+18005550502", "Hello")):
        sent = optout("send", "--from", number, "--to", "+14155550500", "--text", text,
                      "--wait", env=env)  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        results.append(json.loads(sent.stdout))
    assert [r["status"] for r in results] == ["REJECTED", "SENT"]
    assert "opted out of number:+18005550501: STOP" in results[0]["reason"]


def evidence_and_regions(env: dict[str, str]) -> None:
    """The compliance examples: a STOP's evidence; a STOP to Jamaica is not handled here."""
    for number in ("+12125550601", "+18765550601"):
        injected = optout("inject", "--from", "+14155550600", "--to", number, "--text", "STOP",
                          env=env)  # fmt: skip
        assert injected.returncode == 0, injected.stderr

    def evidence() -> str:
        printed = optout("blocklist", "evidence", "+12125550601", "+14155550600", env=env)
        assert printed.returncode == 0, printed.stderr
        return printed.stdout if 'confirmation_accepted": "' in printed.stdout else ""

    found = eventually(evidence, what="the evidence with the confirmation accepted")
    assert '"STOP"' in found and "You are unsubscribed" in found
    jamaica = optout("blocklist", "check", "+18765550601", "+14155550600", env=env)
    assert json.loads(jamaica.stdout)["blocked"] is False


def the_console_shows_a_stop(env: dict[str, str], up_log: str) -> None:
    """The console issue's example: `optout up` says where the console is, and its pair page
    says a pair is blocked after a STOP, and shows the STOP."""
    console = f"http://127.0.0.1:{env['OPTOUT_WEB_PORT']}/console"
    assert f"operator console on {console}" in up_log
    injected = optout("inject", "--from", "+14155550700", "--to", "+18005550701", "--text", "STOP",
                      env=env)  # fmt: skip
    assert injected.returncode == 0, injected.stderr
    url = f"{console}/pair?number=%2B18005550701&sender=%2B14155550700"

    def page() -> str:
        with urllib.request.urlopen(url, timeout=10) as answer:
            text = answer.read().decode()
        return text if "Blocked: +18005550701 may not text +14155550700" in text else ""

    shown = eventually(page, what="the pair page to say blocked")
    assert "<dd>STOP</dd>" in shown  # the message text and keyword in the timeline
