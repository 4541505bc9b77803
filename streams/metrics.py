"""Prometheus metrics, served at /metrics by every worker (streams/health.py)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DEAD_LETTERS = Counter(
    "optout_dead_letters_total", "Records sent to the dead-letter topic", ["source_topic"]
)
DELIVERIES = Counter(
    "optout_delivery_attempts_total", "HTTP delivery attempts by outcome", ["kind", "outcome"]
)
DELIVERY_LATENCY = Histogram(
    "optout_delivery_attempt_seconds", "Duration of one HTTP delivery attempt", ["kind"]
)
