"""Ports for the servers that tests, benchmarks and their stand-ins start: chosen so that nothing
else can take one between the moment it is chosen and the moment its server binds it.

Binding port 0 and handing on the number the kernel picked is not that: the kernel picks from
its ephemeral range (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by default), the same
range every outgoing connection takes its local port from, so a Kafka client connecting in the
meantime may hold the port when the worker binds it ("address already in use"). The ports here
come from outside that range, where the kernel never picks on its own; each is handed out once
per process, is bindable when chosen, and is locked against the other processes that choose
here (two test runs at once) for as long as the process that chose it lives.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "EPHEMERAL_RANGE_FILE",
    "LOCK_FILE",
    "LOWEST_PORT",
    "PortChooser",
    "candidate_ports",
    "ephemeral_range",
    "free_port",
]

EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Below this are the ports services are known by (Kafka's 9092, `optout up`'s 6066-6071, ...).
LOWEST_PORT = 20000
# One byte locked per port (POSIX record locks): the kernel drops a process's locks when it
# exits, however it exits, so a crashed test run leaves nothing locked.
LOCK_FILE = Path(tempfile.gettempdir()) / "optout-ports.lock"


def ephemeral_range(path: Path = EPHEMERAL_RANGE_FILE) -> tuple[int, int]:
    """The kernel's range of ports for outgoing connections and port 0, both ends included.
    Where it cannot be read, every port from Linux's default low end up: what BSDs and macOS
    use (49152-65535) lies inside it."""
    try:
        low, high = (int(n) for n in path.read_text().split())
    except (OSError, ValueError):
        return 32768, 65535
    return low, high


def candidate_ports(ephemeral: tuple[int, int] | None = None) -> list[int]:
    """The ports to choose from: from LOWEST_PORT up, all but the ephemeral range."""
    low, high = ephemeral or ephemeral_range()
    return [p for p in range(LOWEST_PORT, 65536) if not low <= p <= high]


class PortChooser:
    """Hands out ports of `candidates`, each at most once, starting at a random one so that
    processes choosing at the same time seldom even ask for the same port."""

    def __init__(self, candidates: Sequence[int], lock_file: Path | None = LOCK_FILE) -> None:
        self.candidates = list(candidates)
        self.lock_file = lock_file
        self.handed_out: set[int] = set()
        self._next = random.Random().randrange(len(self.candidates)) if self.candidates else 0
        self._lock_fd: int | None = None
        self._mutex = threading.Lock()

    def __call__(self) -> int:
        with self._mutex:
            for _ in range(len(self.candidates)):
                port = self.candidates[self._next]
                self._next = (self._next + 1) % len(self.candidates)
                if port not in self.handed_out and self._lock(port):
                    if _bindable(port):
                        self.handed_out.add(port)
                        return port
                    self._unlock(port)
            raise OSError(
                f"no free port left among {len(self.candidates)} outside the ephemeral range "
                f"{ephemeral_range()} (LOWEST_PORT is {LOWEST_PORT})"
            )

    def _lock(self, port: int) -> bool:
        """Whether no other process holds the port (True too where there is no lock file)."""
        fd = self._lock_descriptor()
        if fd is None:
            return True
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, port)
        except OSError:
            return False
        return True

    def _unlock(self, port: int) -> None:
        fd = self._lock_descriptor()
        if fd is not None:
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, port)

    def _lock_descriptor(self) -> int | None:
        """The lock file, opened once and never closed: closing any descriptor of a file drops
        every POSIX lock the process holds on it."""
        if self._lock_fd is None and self.lock_file is not None:
            try:
                self._lock_fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError:  # another user's file: choose without it (still once, still bindable)
                self.lock_file = None
        return self._lock_fd


def _bindable(port: int) -> bool:
    """Whether the port can be bound on loopback now; without SO_REUSEADDR, so a port that a
    server still holds, or that has connections in TIME_WAIT, is left alone."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


_chooser = PortChooser(candidate_ports())


def free_port() -> int:
    """A port for a server on 127.0.0.1 that nothing else takes first (see the module's doc)."""
    return _chooser()
