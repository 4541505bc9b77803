"""Local stand-ins for the outside world, for `optout up` and the tests: a carrier send API that
accepts replies and a customer webhook receiver. Both print what they receive and keep it."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import mode
from aiohttp import web

__all__ = ["CARRIER_PATH", "Received", "Scripted", "StandIn", "StandInsService", "WEBHOOK_PATH"]

log = logging.getLogger("optout.standins")

CARRIER_PATH = "/v1/messages"
WEBHOOK_PATH = "/webhooks/inbound"


@dataclass
class Received:
    """One request a stand-in received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes
    at: float  # time.time() when it arrived
    status: int  # what the stand-in answered


@dataclass
class Scripted:
    """An answer a stand-in gives instead of its usual one (tests of failing endpoints)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: dict | None = None  # the JSON answered (default: {"answered": status})


@dataclass
class StandIn:
    """An HTTP server on 127.0.0.1 that answers every POST with `status` and records it."""

    name: str
    port: int
    status: int = 200
    received: list[Received] = field(default_factory=list)
    script: dict[str, list[Scripted]] = field(default_factory=dict)  # by path, used in order
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        server = web.Application()
        server.router.add_post("/{path:.*}", self._receive)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        log.info("%s listening on %s", self.name, self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        answer = self.script.get(request.path) or [Scripted(self.status)]
        scripted = answer.pop(0)
        self.received.append(
            Received(request.path, dict(request.headers), body, raw, time.time(), scripted.status)
        )
        log.info("%s received %s", self.name, _summary(body))
        await asyncio.sleep(scripted.delay)
        return web.json_response(
            scripted.body or {"answered": scripted.status},
            status=scripted.status,
            headers=scripted.headers,
        )


def _summary(body: dict[str, Any]) -> str:
    if "opt_out_assist" in body:  # a webhook
        assist = body["opt_out_assist"]
        return (
            f"inbound {body.get('message_uuid')} from {body.get('from')} to {body.get('to')}: "
            f"{body.get('text')!r} intent={assist['intent']} blocked={assist['sender_blocked']}"
        )
    return f"reply from {body.get('from')} to {body.get('to')}: {body.get('text')!r}"


class StandInsService(mode.Service):
    """Runs stand-ins inside a Faust worker's event loop (passed to faust.Worker as a service)."""

    def __init__(self, stand_ins: list[StandIn]) -> None:
        super().__init__()
        self.stand_ins = stand_ins

    async def on_start(self) -> None:
        for stand_in in self.stand_ins:
            await stand_in.start()

    async def on_stop(self) -> None:
        for stand_in in self.stand_ins:
            await stand_in.stop()
