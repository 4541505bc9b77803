"""The examples in examples/ run as their docstrings say, against the running stack: a carrier
sends a STOP, a send service is told not to send, a Python reader sees the block."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import Stack, blocked, eventually, settle_and_assert_once

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BUSINESS, USER = "+12075550101", "+12095550101"


def example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(EXAMPLES / name), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_a_carrier_stop_then_the_send_service_and_the_reader_see_the_block(
    stack: Stack, tmp_path: Path
) -> None:
    assert example("send_service_check.py", stack.web_url, BUSINESS, USER).stdout == "send\n"

    sent = example("carrier_inbound.py", stack.broker.bootstrap, USER, BUSINESS, "STOP")
    assert sent.returncode == 0, sent.stderr
    settle_and_assert_once(stack, sent.stdout.strip())
    eventually(lambda: blocked(stack, BUSINESS, USER), what="the carrier's STOP to block")

    told = example("send_service_check.py", stack.web_url, BUSINESS, USER)
    assert told.returncode == 0 and told.stdout.startswith("do not send: keyword STOP at "), told

    read = example(
        "python_reader.py", stack.broker.bootstrap, str(tmp_path / "copy"), BUSINESS, USER
    )
    assert read.returncode == 0, read.stderr
    assert read.stdout.startswith("blocked {"), read.stdout
