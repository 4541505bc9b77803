"""The README's example for analysts runs as written, against the running stack."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import Stack, settle_and_assert_once

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_example_reads_optout_events(stack: Stack, tmp_path: Path) -> None:
    stack.inbound("analyst-1", "+12085550199", "+13055550199", "STOP")
    settle_and_assert_once(stack, "analyst-1")
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Analysts") :]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    script = tmp_path / "example.py"
    script.write_text(example.replace('"127.0.0.1:9092"', repr(stack.broker.bootstrap)))
    result = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=os.environ,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "OPT_OUT +13055550199 +12085550199 STOP" in result.stdout
