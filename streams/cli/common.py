"""What the command groups share: finding a running `optout up`, the broker and the web API,
producing records, and printing progress and reports."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from optout.schemas.registry import SchemaRegistry
from optout.streams.config import Config

__all__ = [
    "NoBroker",
    "RUN_FILE",
    "broker_url",
    "e164",
    "iso",
    "produce",
    "produce_many",
    "progress",
    "registry",
    "report",
    "running_up",
    "service_defaults",
    "wait_until_followed",
    "web_call",
    "web_text",
]

RUN_FILE = Path(os.environ.get("OPTOUT_HOME", Path.home() / ".optout")) / "up.json"


def running_up() -> dict[str, Any]:
    """Where a running `optout up` listens, if one is running."""
    try:
        found = json.loads(RUN_FILE.read_text())
        os.kill(int(found["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return {}
    return found


def service_defaults(config: Config) -> dict[str, str]:
    """What a number without settings gets from the service: a running `optout up`'s own
    defaults when the command talks to it, else the OPTOUT_DEFAULT_* settings."""
    announced: dict[str, str] = {} if config.broker_url else running_up().get("defaults", {})
    return {
        "brand_name": announced.get("brand_name") or config.default_brand_name,
        "help_contact": announced.get("help_contact") or config.default_help_contact,
        "webhook_url": announced.get("webhook_url") or config.default_webhook_url,
    }


class NoBroker(Exception):
    """No broker configured and no running `optout up` to find."""


def broker_url(config: Config) -> str:
    broker_url = config.broker_url or running_up().get("broker_url")
    if not broker_url:
        raise NoBroker("no broker: start `optout up` or set OPTOUT_BROKER_URL")
    return broker_url


def registry(config: Config):  # type: ignore[no-untyped-def]

    return SchemaRegistry(config.schema_registry_url) if config.schema_registry_url else None


async def produce(broker_url: str, topic: str, key: bytes, value: bytes) -> None:
    await produce_many(broker_url, topic, [(key, value)])


async def produce_many(
    broker_url: str, topic: str, records: list[tuple[bytes | None, bytes]]
) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=broker_url, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


def web_call(
    what: str, method: str, path: str, body: dict | None = None, query: dict | None = None
) -> int:
    """Call the running service's HTTP API, print the JSON answer; 0 on success, 1 if not."""
    answer = _web_answer(what, method, path, body, query)
    if answer is None:
        return 1
    print(json.dumps(answer, indent=2))
    return 0


def web_json(what: str, method: str, path: str, body: dict, patience_s: float = 120.0) -> Any:
    """The JSON answer of the running service's HTTP API, or None having said on stderr why not.
    While the service answers 503 (it cannot answer yet, as while a worker reads its copy of
    the block list), asks again for up to `patience_s`."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            return _web_request(method, path, body)
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or time.monotonic() > deadline:
                print(f"optout {what}: {exc.code}: {exc.read().decode()}", file=sys.stderr)
                return None
            time.sleep(min(5.0, float(exc.headers.get("Retry-After") or 1)))
        except OSError as exc:
            print(f"optout {what}: cannot reach {_web_url()} ({exc}); is `optout up` running?",
                  file=sys.stderr)  # fmt: skip
            return None


def web_text(what: str, path: str, query: dict | None = None) -> str | None:
    """GET a page of the running service's HTTP API as text; None (having said why) if not."""
    return _web_answer(what, "GET", path, None, query, as_text=True)


def _web_answer(
    what: str,
    method: str,
    path: str,
    body: dict | None,
    query: dict | None,
    as_text: bool = False,
) -> Any:
    """The answer of the running service's HTTP API, or None having said on stderr why not."""
    try:
        return _web_request(method, path, body, query, as_text)
    except urllib.error.HTTPError as exc:
        print(f"optout {what}: {exc.code}: {exc.read().decode()}", file=sys.stderr)
    except OSError as exc:
        print(
            f"optout {what}: cannot reach {_web_url()} ({exc}); is `optout up` running?",
            file=sys.stderr,
        )
    return None


def wait_until_followed(path: str, followed: Callable[[Any], bool], timeout: float = 10.0) -> bool:
    """After a change written to a topic: wait until the running service's answer at `path`
    shows it. False when it does not within `timeout`; True when no service answers at all
    (nothing is running to follow it)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if followed(_web_request("GET", path)):
                return True
        except urllib.error.HTTPError:
            pass
        except OSError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def _web_url() -> str:
    web_url = os.environ.get("OPTOUT_WEB_URL") or running_up().get("web_url")
    return web_url or f"http://127.0.0.1:{os.environ.get('OPTOUT_WEB_PORT', '6066')}"


def _web_request(
    method: str,
    path: str,
    body: dict | None = None,
    query: dict | None = None,
    as_text: bool = False,
) -> Any:
    url = (
        _web_url()
        + urllib.parse.quote(path)
        + ("?" + urllib.parse.urlencode(query) if query else "")
    )
    headers = {"Content-Type": "application/json"}
    if os.environ.get("OPTOUT_TOKEN"):
        headers["Authorization"] = f"Bearer {os.environ['OPTOUT_TOKEN']}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        content = response.read()
        return content.decode() if as_text else json.loads(content)


def e164(text: str) -> str:
    """An argument that is a phone number (an argparse `type`): E.164 with nothing around it,
    else refused with the reason before anything is asked or produced. Never trimmed: the
    service would refuse the number as typed, or keep it as a key no message uses."""
    from optout.streams.rules.validate import is_e164

    if not is_e164(text):
        raise argparse.ArgumentTypeError(
            f"invalid number {text!r}: not an E.164 number like +12125550123 "
            "(a +, then 7 to 15 digits, nothing before or after)"
        )
    return text


def iso(epoch_ms: int) -> str:

    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds")


def read_changelog(topic: str, contract: str, what: str) -> dict[bytes, dict]:
    """A compacted topic's latest record per key, read to its end with progress on stderr."""
    from optout.schemas import AvroSerde
    from optout.tables.client.topic_reader import TopicReader, read_until_caught_up

    config = Config()
    serde = AvroSerde(contract, topic, registry(config))
    latest: dict[bytes, dict] = {}
    reader = TopicReader(broker_url(config), topic, latest, serde.decode)
    asyncio.run(read_until_caught_up(reader, timeout=600, progress=progress(f"reading {what}")))
    return latest


def progress(label: str):  # type: ignore[no-untyped-def]
    """A progress line on standard error: records applied of those known to exist."""

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}",
              end="" if done < total else "\n", file=sys.stderr, flush=True)  # fmt: skip

    return show


def report(figures: dict, as_json: bool, rows: Callable[[dict], list[tuple[str, str]]]) -> int:
    """Print benchmark figures as JSON, or as a plain two-column table."""
    if as_json:
        print(json.dumps(figures, indent=2))
        return 0
    table = rows(figures)
    width = max(len(name) for name, _ in table) + 2
    for name, value in table:
        print(f"{name:<{width}}{value}")
    return 0
