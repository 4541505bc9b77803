"""Topic names and their kinds: the contract with carriers, send services, analysts and
customers. Each topic's name lives here only; partition counts come from config. A worker
creates the missing ones at start (`ensure_topics`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError

from optout.streams.exceptions import BrokerUnavailable

__all__ = [
    "ALL_TOPICS",
    "BENCH_FIRST_HOP_TOPIC",
    "BENCH_ONE_HOP_OUTPUT_TOPICS",
    "BENCH_ONE_HOP_TOPIC",
    "BENCH_OUTPUT_TOPICS",
    "BENCH_SECOND_HOP_TOPIC",
    "BLOCKLIST_CHANGELOG_TOPIC",
    "BRAND_SETTINGS_TOPIC",
    "CARRIER_SENDS_TOPIC",
    "BLOCKLIST_COMMANDS_TOPIC",
    "COMPACTED_TOPICS",
    "CONSENT_RECORD_TOPICS",
    "COMPLIANCE_ALERTS_TOPIC",
    "CONSENT_REVIEW_TOPIC",
    "DEAD_LETTER_TOPIC",
    "DELIVERY_RESULTS_TOPIC",
    "HELD_SENDS_TOPIC",
    "HISTORY_CHANGELOG_TOPIC",
    "INBOUND_TOPIC",
    "OPTOUT_EVENTS_TOPIC",
    "OUTBOUND_TOPIC",
    "REKEYED_INBOUND_TOPIC",
    "REJECTED_SENDS_CHANGELOG_TOPIC",
    "REPLIES_TOPIC",
    "RETRY_TIERS",
    "RETRY_TOPICS",
    "SEEN_MESSAGES_CHANGELOG_TOPIC",
    "SEND_RESULTS_TOPIC",
    "SENT_REPLIES_CHANGELOG_TOPIC",
    "SENT_SENDS_CHANGELOG_TOPIC",
    "SETTINGS_TOPIC",
    "WEBHOOK_TOPIC",
    "ensure_topics",
    "partitions_of",
    "retry_topic",
]

log = logging.getLogger(__name__)

INBOUND_TOPIC = "inbound-messages"  # carriers produce InboundMessage here
# Inbound messages that did not arrive in their end user's partition, re-keyed by the end user.
REKEYED_INBOUND_TOPIC = "inbound-by-user"
REPLIES_TOPIC = "outbound-replies"
WEBHOOK_TOPIC = "customer-webhook"
OPTOUT_EVENTS_TOPIC = "optout-events"
DEAD_LETTER_TOPIC = "dead-letters"
DELIVERY_RESULTS_TOPIC = "delivery-results"
RETRY_TIERS = 3  # <topic>-retry-1 .. -3, each waiting about as long as its delay setting
SETTINGS_TOPIC = "number-settings"  # compacted; the settings table's changelog
BRAND_SETTINGS_TOPIC = "brand-settings"  # compacted; per brand, its default scope
BLOCKLIST_CHANGELOG_TOPIC = "blocklist-changelog"  # compacted; the block-list table's changelog
SEEN_MESSAGES_CHANGELOG_TOPIC = "seen-messages-changelog"  # compacted; redelivery detection

SENT_REPLIES_CHANGELOG_TOPIC = "sent-replies-changelog"  # compacted; replies the carrier took
BLOCKLIST_COMMANDS_TOPIC = "blocklist-commands"  # hand-made changes, keyed like the block list
HISTORY_CHANGELOG_TOPIC = "blocklist-history-changelog"  # compacted; every change per pair
OUTBOUND_TOPIC = "outbound-messages"  # send services produce OutboundMessage, keyed by end user
HELD_SENDS_TOPIC = "outbound-held"  # sends held for quiet hours, until the window opens
CARRIER_SENDS_TOPIC = "carrier-sends"  # sends the gate let through, for carrier delivery
SEND_RESULTS_TOPIC = "send-results"  # one final SendResult per send
SENT_SENDS_CHANGELOG_TOPIC = "sent-sends-changelog"  # compacted; sends the carrier took
REJECTED_SENDS_CHANGELOG_TOPIC = "rejected-sends-changelog"  # compacted; the gate's rejections
COMPLIANCE_ALERTS_TOPIC = "compliance-alerts"  # deadlines missed
CONSENT_REVIEW_TOPIC = "consent-review"  # compacted; messages flagged for review, and decisions


def retry_topic(topic: str, tier: int) -> str:
    """The name of a delivery topic's retry tier."""
    return f"{topic}-retry-{tier}"


RETRY_TOPICS = tuple(
    retry_topic(t, tier)
    for t in (REPLIES_TOPIC, WEBHOOK_TOPIC, CARRIER_SENDS_TOPIC)
    for tier in range(1, RETRY_TIERS + 1)
)
COMPACTED_TOPICS = {
    SETTINGS_TOPIC,
    BRAND_SETTINGS_TOPIC,
    BLOCKLIST_CHANGELOG_TOPIC,
    SEEN_MESSAGES_CHANGELOG_TOPIC,
    SENT_REPLIES_CHANGELOG_TOPIC,
    HISTORY_CHANGELOG_TOPIC,
    SENT_SENDS_CHANGELOG_TOPIC,
    REJECTED_SENDS_CHANGELOG_TOPIC,
    CONSENT_REVIEW_TOPIC,
}
# Records a consent dispute may ask for, kept for the TCPA's four-year limitation period (the
# compacted tables keep every pair's state and history by compaction).
CONSENT_RECORD_TOPICS = {
    OPTOUT_EVENTS_TOPIC,
    BLOCKLIST_COMMANDS_TOPIC,
    DELIVERY_RESULTS_TOPIC,
    SEND_RESULTS_TOPIC,
    COMPLIANCE_ALERTS_TOPIC,
}
ALL_TOPICS = (
    INBOUND_TOPIC,
    REKEYED_INBOUND_TOPIC,
    REPLIES_TOPIC,
    WEBHOOK_TOPIC,
    OPTOUT_EVENTS_TOPIC,
    DEAD_LETTER_TOPIC,
    DELIVERY_RESULTS_TOPIC,
    SETTINGS_TOPIC,
    BRAND_SETTINGS_TOPIC,
    BLOCKLIST_CHANGELOG_TOPIC,
    SEEN_MESSAGES_CHANGELOG_TOPIC,
    SENT_REPLIES_CHANGELOG_TOPIC,
    BLOCKLIST_COMMANDS_TOPIC,
    HISTORY_CHANGELOG_TOPIC,
    OUTBOUND_TOPIC,
    HELD_SENDS_TOPIC,
    CARRIER_SENDS_TOPIC,
    SEND_RESULTS_TOPIC,
    SENT_SENDS_CHANGELOG_TOPIC,
    REJECTED_SENDS_CHANGELOG_TOPIC,
    COMPLIANCE_ALERTS_TOPIC,
    CONSENT_REVIEW_TOPIC,
    *RETRY_TOPICS,
)

# Topics of `optout bench pipeline`'s Faust agents doing no work (streams/bench/faust_hops.py).
BENCH_FIRST_HOP_TOPIC = "bench-faust-in"
BENCH_SECOND_HOP_TOPIC = "bench-faust-by-pair"
BENCH_OUTPUT_TOPICS = ("bench-faust-out", "bench-faust-seen")
BENCH_ONE_HOP_TOPIC = "bench-faust-one-in"
BENCH_ONE_HOP_OUTPUT_TOPICS = ("bench-faust-one-out", "bench-faust-one-seen")


async def ensure_topics(
    bootstrap: str,
    partitions: int,
    replication_factor: int,
    wait_seconds: float = 0.0,
    names: Iterable[str] = ALL_TOPICS,
    configs: Mapping[str, str] | None = None,
    consent_retention_ms: int | None = None,
) -> None:
    """Create the topics of `names` (every topic the service uses) that do not exist yet,
    compacted where they must be, the consent records kept `consent_retention_ms`, with
    `configs` besides.

    Retries with backoff while the broker is unreachable, or has topics to create and fewer
    brokers than `replication_factor`, saying so each time, for `wait_seconds` (0: until it is
    ready).
    """
    names = list(names)

    async def ready(admin: AIOKafkaAdminClient) -> None:
        await _controller_ready(admin)
        registered = len(admin._client.cluster.brokers())  # noqa: SLF001 - as _controller_ready
        if registered < replication_factor and not set(names) <= set(await admin.list_topics()):
            # Faust's own topics (its leader topic, the tables' changelogs) are created next, at
            # this replication factor too: a worker that went on crashed then.
            raise KafkaConnectionError(
                f"{registered} of the {replication_factor} brokers that topics to create are "
                "replicated to are up"
            )

    admin = await _connect_admin(bootstrap, wait_seconds, ready)
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=replication_factor,
                topic_configs=({"cleanup.policy": "compact"} if name in COMPACTED_TOPICS else {})
                | (
                    {"retention.ms": str(consent_retention_ms)}
                    if consent_retention_ms and name in CONSENT_RECORD_TOPICS
                    else {}
                )
                | dict(configs or {}),
            )
            for name in names
            if name not in existing
        ]
        if missing:
            await admin.create_topics(missing)
            log.info("created topics: %s", ", ".join(t.name for t in missing))
    finally:
        await admin.close()


async def partitions_of(bootstrap: str, topic: str) -> list[int]:
    """The partitions of `topic`, in order (empty while it does not exist). A consumer's own
    metadata knows only the topics it tracks on Apache Kafka (the embedded broker answered with
    every topic), so `partitions_for_topic` of a topic not assigned yet says nothing there."""
    admin = await _connect_admin(bootstrap, 0.0)
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    found = [t for t in described if t["topic"] == topic and not t["error_code"]]
    return sorted(p["partition"] for t in found for p in t["partitions"])


async def _controller_ready(admin: AIOKafkaAdminClient) -> None:
    """KafkaConnectionError unless the cluster's controller, which creates topics, is among its
    brokers and answers: a cluster still starting names one that is not up yet, and a worker that
    went on then crashed when Faust declared its tables' topics (NodeNotReadyError)."""
    client = admin._client  # noqa: SLF001 - the metadata aiokafka's admin fetched on start
    controller = client.cluster.controller
    if controller is None or not await client.ready(controller.nodeId):
        raise KafkaConnectionError("its controller is not up yet")


async def _connect_admin(
    bootstrap: str,
    wait_seconds: float,
    ready: Callable[[AIOKafkaAdminClient], Awaitable[None]] = _controller_ready,
) -> AIOKafkaAdminClient:
    deadline = time.monotonic() + wait_seconds if wait_seconds else float("inf")
    delay = 0.5
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            await admin.start()
            await ready(admin)
            return admin
        except KafkaConnectionError as exc:
            await admin.close()
            if time.monotonic() + delay > deadline:
                raise BrokerUnavailable(
                    f"cannot reach Kafka at {bootstrap} after {wait_seconds:.0f}s: {exc}"
                ) from exc
            log.warning("Kafka at %s unreachable (%s); retrying in %.1fs", bootstrap, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
