"""Worker endpoints for operators: `/healthz` and `/readyz` (200 once ready), `/metrics`, and
the HTTP API's description, `/openapi.json`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily

from optout.streams.app import app
from optout.streams.runtime.assignment import assignment
from optout.streams.runtime.batches import next_offset_to_process
from optout.streams.runtime.stalls import stalls
from optout.streams.web.openapi import openapi_document

__all__ = ["ConsumerLag", "READINESS_CHECKS", "healthz", "metrics", "not_ready", "openapi"]

# More conditions of readiness, each saying why the worker is not ready (None: it is), added by
# the modules that own what they check (the settings readers, stalled partitions).
READINESS_CHECKS: list[Callable[[], str | None]] = [stalls.problem]


def not_ready() -> str | None:
    """Why the worker is not processing and answering yet, or None: partitions assigned and
    tables recovered (not rebalancing), and every check of READINESS_CHECKS passed."""
    recovery = cast(Any, app.tables).recovery
    if app.rebalancing or recovery.in_recovery or not recovery.completed.is_set():
        return "partitions are being assigned or tables restored"
    if not assignment.assigned():
        return "no partitions assigned yet"
    return next((why for check in READINESS_CHECKS if (why := check())), None)


@app.page("/healthz")
async def healthz(web: Any, request: Any) -> Any:
    """Ready to process and answer: 200; still starting, rebalancing, or a check failing: 503
    with the reason."""
    why = not_ready()
    if why is None:
        return web.json({"status": "ready"})
    return web.json({"status": "not ready", "reason": why}, status=503)


@app.page("/metrics")
async def metrics(web: Any, request: Any) -> Any:
    return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])


@app.page("/openapi.json")
async def openapi(web: Any, request: Any) -> Any:
    return web.json(openapi_document())


app.page("/readyz")(healthz)


class ConsumerLag:
    """`optout_consumer_lag{topic,partition}`: records on each partition this worker reads that
    it has not processed yet (the partition's end as last fetched, less the next offset to do)."""

    def describe(self) -> Any:
        yield self._family()

    def collect(self) -> Any:
        lag = self._family()
        for tp in sorted(assignment.assigned()):
            end = assignment.highwater(tp)
            done = next_offset_to_process(tp)
            if end is not None and done is not None:
                lag.add_metric([tp.topic, str(tp.partition)], max(0, end - done - 1))
        yield lag

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "optout_consumer_lag",
            "Records not processed yet on each partition assigned to this worker",
            labels=["topic", "partition"],
        )


REGISTRY.register(ConsumerLag())  # type: ignore[arg-type]
