"""Liveness for orchestrators and tests: `/healthz` answers 200 once the worker is ready."""

from __future__ import annotations

from typing import Any

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
    if worker_ready():
        return web.json({"status": "ready"})
    return web.json({"status": "starting"}, status=503)
