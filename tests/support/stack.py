"""A running stack for end-to-end tests: the embedded broker, a real `optout worker` process,
and real HTTP receivers on 127.0.0.1 standing in for the carrier send API and two customers'
webhooks."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from optout.schemas import AvroSerde
from optout.streams.embedded.broker import free_port
from optout.streams.embedded.standins import StandIn
from optout.streams.rules.number_settings import default_settings
from tests.support.brokers import ON_KAFKA, BrokerForTests, broker_env, stack_broker
from tests.support.waiting import eventually

WORKER_READY_TIMEOUT = 150.0
ADMIN_TOKEN = "test-admin-token"
WEBHOOK_SECRET = "test-webhook-secret"
HTTP_TIMEOUT = 2.0


class Stack:
    """Handles to everything the end-to-end tests talk to."""

    def __init__(
        self,
        tmp: Path,
        agents: str = "classify,reply,webhook,send",
        broker: BrokerForTests | None = None,
        **env: str,
    ) -> None:
        self.tmp = tmp
        self.agents = agents
        self.extra_env = env
        self.broker = broker or stack_broker(tmp)
        # Its own consumer groups, on a cluster that other stacks or earlier runs used too.
        self.app_id = f"optout-{uuid.uuid4().hex[:8]}" if ON_KAFKA else "optout"
        self.carrier = StandIn("carrier", free_port(), status=202)
        self.webhook_a = StandIn("webhook A", free_port())
        self.webhook_b = StandIn("webhook B", free_port())
        self.closed_port = free_port()  # allowed as a webhook destination; nothing listens
        self.web_port = free_port()
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        self.loop = asyncio.new_event_loop()
        self.worker: subprocess.Popen[bytes] | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        """Started (everything), and stopped again when the block ends or starting fails."""
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self, with_broker: bool = True) -> None:
        """The stand-ins; then, unless told otherwise, the broker and the worker."""
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        for stand_in in (self.carrier, self.webhook_a, self.webhook_b):
            self.run(stand_in.start())
        if with_broker:
            self.broker.start()
            self.start_worker()

    def start_worker(self) -> None:
        self.worker = self.spawn_worker(self.web_port, "worker")
        self.wait_ready()

    def spawn_worker(
        self, web_port: int, name: str, agents: str | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a worker process of this stack (its agents unless told), logging to <name>.log."""
        env = (
            os.environ
            | {
                "OPTOUT_BROKER_URL": self.broker.bootstrap,
                "OPTOUT_DATA_DIR": str(self.tmp / f"{name}-data"),
                "OPTOUT_WEB_PORT": str(web_port),
                "OPTOUT_CARRIER_API_URL": f"{self.carrier.url}/v1/messages",
                "OPTOUT_DEFAULT_WEBHOOK_URL": f"{self.webhook_a.url}/hooks",
                "OPTOUT_DEFAULT_BRAND": "Acme",
                "OPTOUT_DEFAULT_HELP_CONTACT": "help@acme.test",
                "OPTOUT_ADMIN_TOKENS": f"tester={ADMIN_TOKEN}",
                "OPTOUT_APP_ID": self.app_id,
                "OPTOUT_DEFAULT_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "OPTOUT_REVIEW_WATCH_SECONDS": "2",
                "OPTOUT_HTTP_TIMEOUT_SECONDS": str(HTTP_TIMEOUT),
                "OPTOUT_RETRY_DELAYS_SECONDS": "1,2,3",
                "OPTOUT_DELIVERY_MAX_ATTEMPTS": "4",
                # Plain http to the stand-ins only: every other private address stays refused.
                "OPTOUT_WEBHOOK_ALLOW_HTTP": "true",
                "OPTOUT_WEBHOOK_ALLOWED_HOSTS": ",".join(
                    f"127.0.0.1:{port}"
                    for port in (self.webhook_a.port, self.webhook_b.port, self.closed_port)
                ),
            }
            | broker_env()
            | self.extra_env
        )
        command = [sys.executable, "-m", "optout.streams.cli", "worker"]
        with (self.tmp / f"{name}.log").open("ab") as log:
            return subprocess.Popen(
                [*command, "--agents", agents or self.agents],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, worker: subprocess.Popen[bytes] | None = None, web_port: int = 0) -> None:
        worker = worker or self.worker
        url = f"http://127.0.0.1:{web_port or self.web_port}/healthz"
        deadline = time.monotonic() + WORKER_READY_TIMEOUT
        while time.monotonic() < deadline:
            assert worker is not None and worker.poll() is None, self.worker_tail()
            try:
                with urllib.request.urlopen(url, timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(1)
        raise AssertionError(f"worker not ready in {WORKER_READY_TIMEOUT}s\n{self.worker_tail()}")

    def kill_worker(self) -> None:
        """kill -9: no goodbye, no last commit."""
        assert self.worker is not None
        self.worker.kill()
        self.worker.wait(timeout=30)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.terminate()
            try:
                self.worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.worker.kill()
        self.broker.stop()
        for stand_in in (self.carrier, self.webhook_a, self.webhook_b):
            self.run(stand_in.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)

    def worker_log_text(self) -> str:
        return (self.tmp / "worker.log").read_text(errors="replace")

    def worker_tail(self, lines: int = 60) -> str:
        return "\n".join(self.worker_log_text().splitlines()[-lines:])

    # -- helpers ---------------------------------------------------------------------------
    def run(self, coroutine: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def produce(self, topic: str, value: bytes | None, key: bytes | None = None) -> None:
        self.run(self._produce(topic, value, key))

    async def _produce(self, topic: str, value: bytes | None, key: bytes | None) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.broker.bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(topic, value, key=key)
        finally:
            await producer.stop()

    def inbound(self, message_id: str, from_number: str, to_number: str, text: str, **extra: Any):
        """Produce an InboundMessage as a carrier would (keyed by the sender)."""
        message = {
            "message_id": message_id,
            "channel": "SMS",
            "from_number": from_number,
            "to_number": to_number,
            "text": text,
            "media_urls": [],
            "received_at": int(time.time() * 1000),
            "carrier": "test-carrier",
        } | extra
        value = AvroSerde("inbound_message", "inbound-messages").encode(message)
        self.produce("inbound-messages", value, key=from_number.encode())

    def read_topic(self, topic: str, contract: str) -> list[dict]:
        """Every record on a topic so far, decoded."""
        serde = AvroSerde(contract, topic)
        return [serde.decode(record.value) for record in self.read_records(topic)]

    def read_records(self, topic: str) -> list[ConsumerRecord]:
        """Every record on a topic so far, as a consumer reading committed records sees it."""
        return self.run(self._read_records(topic))

    async def _read_records(self, topic: str) -> list[ConsumerRecord]:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=self.broker.bootstrap,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        await consumer.start()
        try:
            records = []
            while batches := await consumer.getmany(timeout_ms=1500):
                records += [record for rs in batches.values() for record in rs]
            return records
        finally:
            await consumer.stop()

    def set_settings(self, number: str, **fields: Any) -> None:
        """Store a number's settings and wait until the worker has them."""
        settings = default_settings(number, "Acme", "help@acme.test") | fields
        value = AvroSerde("number_settings", "number-settings").encode(settings)
        self.produce("number-settings", value, key=number.encode())
        expected = fields.get("webhook_url")
        eventually(
            lambda: (
                self.http("GET", f"/v1/numbers/{number}")[1]["settings"]["webhook_url"] == expected
            ),
            what=f"the worker to follow the settings of {number}",
        )

    def results_for(self, message_id: str) -> list[dict]:
        return [
            r
            for r in self.read_topic("delivery-results", "delivery_result")
            if r["message_id"] == message_id
        ]

    def lookup(self, number: str, sender: str) -> tuple[int, dict]:
        return self.http("GET", f"/v1/blocklist/{number}/{sender}")

    def http(
        self,
        method: str,
        path: str,
        body: object = None,
        headers: dict | None = None,
        base: str | None = None,
    ) -> tuple[int, dict]:
        """A request to a worker's web server (this stack's first by default): (status, JSON)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            (base or self.web_url) + path, data=data, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def optout(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the `optout` command line against this stack."""
        env = os.environ | {
            "OPTOUT_BROKER_URL": self.broker.bootstrap,
            "OPTOUT_WEB_URL": self.web_url,
        }
        command = [sys.executable, "-m", "optout.streams.cli", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
