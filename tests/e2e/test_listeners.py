"""Every server the service starts listens where the README says: on 127.0.0.1 unless told
otherwise, never on every interface. Its web server answers lookups, histories with message
texts, evidence and CSV exports, and the embedded broker takes no credentials, so a listener on
0.0.0.0 or :: lets anyone on the network read who opted out.

The listening sockets are read from the kernel (/proc/<pid>/net/tcp and tcp6, matched to the
process's own descriptors), not inferred from configuration, so a library that binds something
else than it is told is caught too.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import pytest

from optout.streams.embedded.ports import free_port
from tests.support import Stack, eventually

pytestmark = pytest.mark.e2e

LOOPBACK = "127.0.0.1"
TCP_LISTEN = "0A"  # the state column of /proc/net/tcp


def test_optout_up_and_a_lookup_replica_listen_on_loopback_only(tmp_path: Path) -> None:
    """`optout up` (worker, stand-ins, embedded broker) and `optout lookups`, with defaults."""
    ports = {
        "OPTOUT_EMBEDDED_BROKER_PORT": free_port(),
        "OPTOUT_WEB_PORT": free_port(),
        "OPTOUT_UP_CARRIER_PORT": free_port(),
        "OPTOUT_UP_WEBHOOK_PORT": free_port(),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPTOUT_")} | {
        "OPTOUT_HOME": str(tmp_path / "home"),
        "OPTOUT_DATA_DIR": str(tmp_path / "data"),
        **{name: str(port) for name, port in ports.items()},
    }
    log_path = tmp_path / "up.log"
    with log_path.open("w") as log:
        up = subprocess.Popen(
            [sys.executable, "-m", "optout.streams.cli", "up"], env=env, stdout=log, stderr=log
        )
    try:
        eventually(
            lambda: _healthy(up, ports["OPTOUT_WEB_PORT"], log_path),
            timeout=150,
            what="optout up to be ready",
        )
        for port in ports.values():
            eventually(lambda p=port: _accepts(p), what=f"something to listen on {port}")
        found = listeners([up.pid, *descendants(up.pid)])
        assert set(ports.values()) <= {port for _, port in found}, found
        assert_loopback_only(found)
        assert f"web server listening on http://{LOOPBACK}:{ports['OPTOUT_WEB_PORT']}" in (
            log_path.read_text()
        )
        broker = f"{LOOPBACK}:{ports['OPTOUT_EMBEDDED_BROKER_PORT']}"
        a_lookup_replica_listens_on_loopback_only(env, broker, tmp_path / "lookups.log")
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=60)


def a_lookup_replica_listens_on_loopback_only(
    env: dict[str, str], broker: str, log_path: Path
) -> None:
    """`optout lookups` with its default host (OPTOUT_LOOKUP_HOST unset)."""
    port = free_port()
    command = [sys.executable, "-m", "optout.streams.cli", "lookups", "--port", str(port)]
    with log_path.open("w") as log:
        replica = subprocess.Popen(
            command, env=env | {"OPTOUT_BROKER_URL": broker}, stdout=log, stderr=log
        )
    try:

        def listening() -> bool:
            assert replica.poll() is None, log_path.read_text()[-3000:]
            return _accepts(port)

        eventually(listening, what="the lookup replica to listen")
        found = listeners([replica.pid])
        assert found == {(LOOPBACK, port)}
    finally:
        replica.terminate()
        replica.wait(timeout=30)


def test_a_worker_and_its_broker_listen_on_loopback_only(stack: Stack) -> None:
    """`optout worker` on a broker of its own (the stack's), as the tests run it."""
    assert stack.worker is not None and stack.broker.pid is not None
    found = listeners([stack.worker.pid, stack.broker.pid])
    assert {stack.web_port, stack.broker.port} <= {port for _, port in found}, found
    assert_loopback_only(found)


@pytest.mark.parametrize("host", [None, "0.0.0.0"])
def test_the_web_server_binds_the_host_it_is_given(host: str | None) -> None:
    """OPTOUT_WEB_HOST (127.0.0.1 unless set) is what Faust binds, not only the name it gives
    itself: how a container opens it (docker-compose.yml sets 0.0.0.0 for classify)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPTOUT_WEB_HOST", "WEB_BIND")}
    if host is not None:
        env["OPTOUT_WEB_HOST"] = host
    code = "from optout.streams.app import app; print(app.conf.web_bind, app.conf.web_host)"
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert shown.stdout.split() == [host or LOOPBACK] * 2, shown.stderr


def assert_loopback_only(found: set[tuple[str, int]]) -> None:
    beyond = sorted((address, port) for address, port in found if not is_loopback(address))
    assert found and not beyond, f"listening beyond loopback: {beyond}"


def is_loopback(address: str) -> bool:
    """127.0.0.0/8 or ::1, or 127.0.0.1 as an IPv6 socket shows it (::ffff:127.0.0.1: Java's)."""
    ip = ipaddress.ip_address(address)
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def listeners(pids: Iterable[int]) -> set[tuple[str, int]]:
    """The (address, port) pairs on which these processes listen for TCP connections."""
    found = set()
    for pid in pids:
        sockets = _socket_inodes(pid)
        for table in ("tcp", "tcp6"):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == TCP_LISTEN and inode in sockets:
                    found.add(_address(local))
    return found


def descendants(pid: int) -> list[int]:
    """The processes started by `pid`, and by those (the embedded broker of `optout up`)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, new = [], [pid]
    while new:
        new = [child for child, parent in parents.items() if parent in new]
        found += new
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _address(local: str) -> tuple[str, int]:
    """'0100007F:1F90' -> ('127.0.0.1', 8080) on a little-endian machine: the address is in
    32-bit words of the machine's byte order, the port in hex."""
    address, port = local.split(":")
    raw = bytes.fromhex(address)
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, raw), int(port, 16)


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((LOOPBACK, port)) == 0


def _healthy(up: subprocess.Popen[bytes], port: int, log_path: Path) -> bool:
    assert up.poll() is None, log_path.read_text()[-3000:]
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/healthz", timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False
