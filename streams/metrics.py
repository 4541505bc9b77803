"""Prometheus metrics, served at /metrics by every worker (streams/web/health.py)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "BATCH_FAILURES",
    "BLOCKED_PAIRS",
    "COMPLIANCE_ALERTS",
    "COMPLIANCE_CLOCK",
    "DEAD_LETTERS",
    "DELIVERIES",
    "DELIVERY_LATENCY",
    "MESSAGES",
    "PARTITION_STALLS",
    "PROCESSING",
    "REVIEWS_OPEN",
    "REVIEWS_OVERDUE",
    "SENDS",
]

DEAD_LETTERS = Counter(
    "optout_dead_letters_total", "Records sent to the dead-letter topic", ["source_topic"]
)
DELIVERIES = Counter(
    "optout_delivery_attempts_total", "HTTP delivery attempts by outcome", ["kind", "outcome"]
)
SENDS = Counter("optout_sends_total", "Sends gated, by verdict", ["verdict"])
DELIVERY_LATENCY = Histogram(
    "optout_delivery_attempt_seconds", "Duration of one HTTP delivery attempt", ["kind"]
)
MESSAGES = Counter(
    "optout_messages_total", "Inbound messages classified, by intent and rule", ["intent", "rule"]
)
BATCH_FAILURES = Counter(
    "optout_batch_failures_total", "Batches that failed and were tried again, by agent", ["agent"]
)
PARTITION_STALLS = Counter(
    "optout_partition_stalls_total",
    "Partitions found with records waiting and no progress, and read again",
    ["topic", "partition"],
)
PROCESSING = Histogram(
    "optout_processing_seconds", "Classify agent time per message, decide and publish"
)
COMPLIANCE_ALERTS = Counter(
    "optout_compliance_alerts_total", "Compliance deadlines missed, by kind", ["kind"]
)
COMPLIANCE_CLOCK = Histogram(
    "optout_reply_after_inbound_seconds",
    "From the carrier receiving an inbound keyword to the carrier accepting its reply "
    "(opt-out confirmations must stay far below 300 s)",
    ["intent"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
BLOCKED_PAIRS = Gauge(
    "optout_blocklist_blocked_pairs", "Pairs blocked in the block list (this worker's full copy)"
)
REVIEWS_OPEN = Gauge("optout_reviews_open", "Messages flagged for review, not yet decided")
REVIEWS_OVERDUE = Gauge(
    "optout_reviews_overdue", "Messages flagged for review and not decided within 10 business days"
)
