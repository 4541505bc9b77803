"""The port chooser of tests and benchmarks (streams/embedded/ports.py): a port it hands out is
one the kernel never gives an outgoing connection, is bindable, and is handed out once, to one
process, so no server of a test can find its port taken ("address already in use")."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from optout.streams.embedded.ports import (
    LOWEST_PORT,
    PortChooser,
    candidate_ports,
    ephemeral_range,
    free_port,
)


def test_ports_are_distinct_bindable_and_outside_the_ephemeral_range() -> None:
    low, high = ephemeral_range()
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(LOWEST_PORT <= port < 65536 and not low <= port <= high for port in ports)
    for port in ports:
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
            server.listen()


def test_the_ephemeral_range_is_read_from_the_kernel(tmp_path: Path) -> None:
    setting = tmp_path / "ip_local_port_range"
    setting.write_text("40000\t60999\n")
    assert ephemeral_range(setting) == (40000, 60999)
    assert ephemeral_range(tmp_path / "missing") == (32768, 65535)
    candidates = candidate_ports((40000, 60999))
    assert candidates[0] == LOWEST_PORT and 39999 in candidates and 61000 in candidates
    assert not set(range(40000, 61000)) & set(candidates)
    assert candidate_ports((1024, 65535)) == []


def test_a_port_in_use_is_skipped_and_none_is_handed_out_twice(tmp_path: Path) -> None:
    taken, free = free_port(), free_port()
    chooser = PortChooser([taken, free], tmp_path / "ports.lock")
    with socket.socket() as server:
        server.bind(("127.0.0.1", taken))
        server.listen()
        assert chooser() == free
        with pytest.raises(OSError, match="no free port left"):
            chooser()


def test_a_port_another_process_chose_is_not_handed_out(tmp_path: Path) -> None:
    """Two test runs at once: each process gets its own ports, for as long as it lives."""
    candidates = [free_port() for _ in range(6)]
    lock_file = tmp_path / "ports.lock"
    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from pathlib import Path\n"
            "from optout.streams.embedded.ports import PortChooser\n"
            f"choose = PortChooser({candidates}, Path({str(lock_file)!r}))\n"
            "print(*(choose() for _ in range(3)), flush=True)\n"
            "sys.stdin.read()\n",  # holds its ports until told to end
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert other.stdin is not None and other.stdout is not None
    try:
        theirs = {int(port) for port in other.stdout.readline().split()}
        chooser = PortChooser(candidates, lock_file)
        ours = {chooser() for _ in range(3)}
        assert len(theirs) == 3 and ours == set(candidates) - theirs
        with pytest.raises(OSError):
            chooser()
    finally:
        other.stdin.close()
        other.wait(timeout=10)
    # Once it has ended, its ports are free again.
    assert PortChooser(sorted(theirs), lock_file)() in theirs
