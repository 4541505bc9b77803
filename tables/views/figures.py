"""This worker's figures at a glance, read from its metrics: messages by intent, deliveries by
outcome, sends by verdict, consumer lag, the compliance clock. `GET /v1/figures` (open like
lookups) and the console's live figures show the same."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from faust.web import Request, Response, View
from prometheus_client import REGISTRY

from optout.streams.app import app
from optout.streams.web.auth import check_lookup_allowed

__all__ = ["FiguresView", "current_figures", "figures_from"]

Samples = dict[str, list[tuple[dict[str, str], float]]]


def current_figures() -> dict[str, dict[str, float]]:
    samples: Samples = defaultdict(list)
    for family in REGISTRY.collect():
        for sample in family.samples:
            samples[sample.name].append((sample.labels, sample.value))
    return figures_from(samples)


def figures_from(samples: Samples) -> dict[str, dict[str, float]]:
    """The figures, by card and row, from metric samples by name."""
    clock = "optout_reply_after_inbound_seconds"
    confirmations = _summed(samples, f"{clock}_count", ("intent",)).get("OPT_OUT", 0)
    in_time = sum(
        value for labels, value in samples.get(f"{clock}_bucket", [])
        if labels.get("intent") == "OPT_OUT" and labels.get("le") == "300.0"
    )  # fmt: skip
    lag = _summed(samples, "optout_consumer_lag", ("topic",))
    return {
        "Messages by intent": _summed(samples, "optout_messages_total", ("intent",)),
        "Deliveries by outcome": _summed(
            samples, "optout_delivery_attempts_total", ("kind", "outcome")
        ),
        "Sends by verdict": _summed(samples, "optout_sends_total", ("verdict",)),
        "Consumer lag": {"all topics": sum(lag.values()), **lag},
        "Compliance clock": {
            "opt-out confirmations accepted": confirmations,
            "accepted within 300 s": in_time,
            **{
                f"alerts: {kind}": count
                for kind, count in _summed(
                    samples, "optout_compliance_alerts_total", ("kind",)
                ).items()
            },
            "reviews open": _one(samples, "optout_reviews_open"),
            "reviews overdue": _one(samples, "optout_reviews_overdue"),
        },
    }


def _summed(samples: Samples, name: str, by: Iterable[str]) -> dict[str, float]:
    sums: dict[str, float] = defaultdict(float)
    for labels, value in samples.get(name, []):
        sums[" ".join(labels.get(label, "") for label in by)] += value
    return {
        key: int(value) if value == int(value) else value for key, value in sorted(sums.items())
    }


def _one(samples: Samples, name: str) -> float:
    return sum(value for _, value in samples.get(name, []))


@app.page("/v1/figures")
class FiguresView(View):
    """GET this worker's figures since it started."""

    async def get(self, request: Request) -> Response:
        check_lookup_allowed(request)
        return self.json(current_figures())
