"""One HTTP delivery attempt (carrier send API or customer webhook) and its DeliveryResult."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from optout.schemas import Record
from optout.streams.app import app, config, delivery_result_serde, delivery_results_topic


async def post_json(
    url: str | None, body: dict[str, Any], *, kind: str, delivery_id: str, message_id: str
) -> Record:
    """POST `body` as JSON with the delivery id as idempotency key; return what happened."""
    started = time.monotonic()
    status, error, outcome = None, None, "FAILED"
    if not url:
        outcome, error = "SKIPPED", "no destination URL configured"
    else:
        try:
            async with app.http_client.post(
                url,
                json=body,
                headers={"Idempotency-Key": delivery_id},
                timeout=aiohttp.ClientTimeout(total=config.http_timeout),
            ) as response:
                status = response.status
                outcome = "SENT" if 200 <= status < 300 else "FAILED"
                if outcome == "FAILED":
                    error = (await response.text())[:500]
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
    return {
        "delivery_id": delivery_id,
        "kind": kind,
        "message_id": message_id,
        "destination": url or "",
        "outcome": outcome,
        "http_status": status,
        "error": error,
        "latency_ms": (time.monotonic() - started) * 1000,
        "attempted_at": int(time.time() * 1000),
    }


async def record_result(key: bytes | None, result: Record) -> None:
    """Publish a delivery's outcome to the results topic."""
    await delivery_results_topic.send(key=key, value=delivery_result_serde.encode(result))
