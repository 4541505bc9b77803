"""Worker endpoints for operators: `/healthz` and `/readyz` (200 once ready), `/metrics`."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from optout.streams.app import app


def worker_ready() -> bool:
    """Partitions assigned and tables recovered: the worker is processing and answering."""
    return (
        not app.rebalancing
        and bool(app.consumer.assignment())
        and app.tables.recovery.completed.is_set()
    )


@app.page("/healthz")
async def healthz(web: Any, request: Any) -> Any:
    """Ready to process and answer: 200; still starting or rebalancing: 503."""
    if worker_ready():
        return web.json({"status": "ready"})
    return web.json({"status": "starting"}, status=503)


@app.page("/metrics")
async def metrics(web: Any, request: Any) -> Any:
    return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])


app.page("/readyz")(healthz)
