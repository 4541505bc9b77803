"""A fixed-rate HTTP load generator light enough not to be the bottleneck it measures.

It runs in its own process on plain keep-alive sockets: requests are sent when they are due
(open loop) on whichever connection is idle, and each is timed from when it was due, so a slow
answer counts against the server as a real caller would feel it.
"""

from __future__ import annotations

import selectors
import socket
import time
from typing import cast

__all__ = ["fixed_rate_gets", "serve_constant_answer"]


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.due = 0.0

    def send(self, request: bytes, due: float) -> None:
        self.due = due
        self.sock.sendall(request)

    def read_answer(self) -> bool:
        """Read what has arrived; True once one whole answer is in."""
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        head = self.buffer[:head_end].decode("latin-1").lower()
        if not head.startswith("http/1.1 200"):
            raise RuntimeError(f"unexpected answer: {head.splitlines()[0]}")
        length = int(head.split("content-length:")[1].split("\r\n")[0])
        if len(self.buffer) < head_end + 4 + length:
            return False
        self.buffer = self.buffer[head_end + 4 + length :]
        return True


def fixed_rate_gets(
    host: str, port: int, paths: list[str], rate: int, seconds: float, connections: int = 8
) -> list[float]:
    """GET `paths` in turn at `rate` per second for `seconds`; latencies in seconds."""
    requests = [
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode("ascii") for path in paths
    ]
    selector = selectors.DefaultSelector()
    idle = [_Connection(host, port) for _ in range(connections)]
    for connection in idle:
        selector.register(connection.sock, selectors.EVENT_READ, connection)
    latencies: list[float] = []
    total = int(rate * seconds)
    started = time.perf_counter()
    sent = 0
    while len(latencies) < total:
        now = time.perf_counter()
        while sent < total and idle and started + sent / rate <= now:
            idle.pop().send(requests[sent % len(requests)], started + sent / rate)
            sent += 1
        next_due = started + sent / rate if sent < total and idle else now + 1.0
        for key, _ in selector.select(max(0.0, next_due - time.perf_counter())):
            connection = key.data
            if connection.read_answer():
                latencies.append(time.perf_counter() - connection.due)
                idle.append(connection)
    for key in list(selector.get_map().values()):
        cast(socket.socket, key.fileobj).close()
    return latencies


def serve_constant_answer(port: int) -> None:
    """The fastest server the same stack can be: aiohttp answering a constant JSON, nothing
    else in the process. Run under the same load it shows the floor this machine sets."""
    from aiohttp import web

    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"blocked": False})

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)
