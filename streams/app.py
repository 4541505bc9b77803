"""The composition root: the Faust app and every topic it reads or writes.

Values on every topic are Avro bytes (see optout.schemas); keys are UTF-8 strings, so the key
bytes of a topic, a table and a lookup route are always the same ('+12125550100|+14155550100').
"""

from __future__ import annotations

from collections.abc import Awaitable
from contextvars import ContextVar
from typing import Any, Protocol

import faust
from faust.types import RecordMetadata, TableT

from optout.schemas import AvroSerde
from optout.schemas.registry import SchemaRegistry
from optout.streams import topics
from optout.streams.config import Config
from optout.streams.rules.partitioning import default_partitioner

__all__ = [
    "ROCKSDICT",
    "app",
    "bytes_table",
    "carrier_sends_topic",
    "compliance_alert_serde",
    "compliance_alerts_topic",
    "consent_review_topic",
    "config",
    "current_transaction",
    "dead_letter_serde",
    "dead_letter_topic",
    "delivery_result_serde",
    "delivery_results_topic",
    "held_sends_topic",
    "inbound_serde",
    "inbound_topics",
    "optout_event_serde",
    "optout_events_topic",
    "outbound_serde",
    "outbound_topic",
    "produce",
    "raw_topic",
    "registry",
    "rekeyed_inbound_topic",
    "replies_topic",
    "reply_serde",
    "retry_serde",
    "review_serde",
    "send_result_serde",
    "send_results_topic",
    "webhook_serde",
    "webhook_topic",
]

config = Config()
# Table store options: RocksDB through rocksdict, with memory bounded whatever the table size
# (Faust's defaults are a 2 GiB block cache and 3 x 64 MiB write buffers per partition).
ROCKSDICT = {
    "driver": "rocksdict",
    "block_cache_size": 8 * 1024**2,
    "write_buffer_size": 4 * 1024**2,
    "max_write_buffer_number": 2,
    "target_file_size_base": 16 * 1024**2,
}


def _broker_urls(value: str) -> list[str]:
    return [u if "://" in u else f"kafka://{u}" for u in value.split(",") if u]


app = faust.App(
    config.group_id,
    broker=_broker_urls(config.broker_url or "127.0.0.1:9092"),
    store="rocksdb://",
    datadir=str(config.data_dir),
    topic_partitions=config.partitions,
    topic_replication_factor=config.replication_factor,
    topic_allow_declare=True,
    # Faust listens on web_bind (its default 0.0.0.0: every interface) and uses web_host only to
    # name itself; lookups, histories with message texts, evidence and exports are served here,
    # so it listens on OPTOUT_WEB_HOST, loopback unless the deployment opens it on purpose.
    web_bind=config.web_host,
    web_host=config.web_host,
    web_port=config.web_port,
    canonical_url=config.canonical_url,
    broker_session_timeout=config.session_timeout,
    broker_commit_interval=config.commit_interval,
    broker_heartbeat_interval=min(3.0, config.session_timeout / 3),
    producer_acks=-1,
    producer_linger=config.producer_linger,
    producer_partitioner=default_partitioner,
    table_standby_replicas=config.standby_replicas,
    consumer_max_fetch_size=config.consumer_max_fetch_bytes,
    autodiscover=False,
)
# Faust reads WEB_BIND from the environment over the argument above: a stray one must not open
# the server to other machines.
app.conf.web_bind = config.web_host


def raw_topic(*names: str, **options: Any) -> faust.TopicT:
    """A topic of Avro bytes with raw keys; decoding is the agents' job, so that a bad
    record becomes a dead letter rather than an exception inside Faust."""
    return app.topic(
        *names,
        key_serializer="raw",
        value_serializer="raw",
        partitions=config.partitions,
        **options,
    )


def bytes_table(name: str, changelog: str) -> TableT:
    """A RocksDB (rocksdict) table of raw byte keys and values, backed by the compacted
    `changelog` topic; raw keys keep table, topic and lookup route in agreement."""
    return app.Table(
        name,
        partitions=config.partitions,
        key_type=bytes,
        value_type=bytes,
        changelog_topic=raw_topic(changelog, compacting=True),
        options=ROCKSDICT,
    )


class TransactionSink(Protocol):
    """Where records of a Kafka transaction go (streams/runtime/transactions.py)."""

    async def send(self, topic: str, key: bytes | None, value: bytes) -> Any: ...

    def write(self, table: TableT, partition: int, key: bytes, value: bytes | None) -> None:
        """A table write about to be made locally, to undo if the transaction aborts."""


# Where `produce` sends instead of the app's producer: the current Kafka transaction, if any
# (exactly-once: streams/runtime/transactions.py sets it).
current_transaction: ContextVar[TransactionSink | None] = ContextVar("transaction", default=None)


async def produce(
    topic: faust.TopicT, key: bytes | None, value: bytes
) -> Awaitable[RecordMetadata]:
    """Hand a record to the producer; returns the broker's acknowledgement, to await later.
    The hot path calls the producer directly: Faust's `topic.send` adds futures, callbacks and
    sensors per record. Inside a transaction (exactly-once) the record goes in it."""
    transaction = current_transaction.get()
    if transaction is not None:
        return await transaction.send(topic.get_topic_name(), key, value)
    return await app.producer.send(topic.get_topic_name(), key, value, None, None, None)


rekeyed_inbound_topic = raw_topic(topics.REKEYED_INBOUND_TOPIC)
# What classify reads: both topics, co-partitioned, so an end user's messages meet in one partition.
inbound_topics = raw_topic(topics.INBOUND_TOPIC, topics.REKEYED_INBOUND_TOPIC)
replies_topic = raw_topic(topics.REPLIES_TOPIC)
webhook_topic = raw_topic(topics.WEBHOOK_TOPIC)
optout_events_topic = raw_topic(topics.OPTOUT_EVENTS_TOPIC)
dead_letter_topic = raw_topic(topics.DEAD_LETTER_TOPIC)
delivery_results_topic = raw_topic(topics.DELIVERY_RESULTS_TOPIC)
outbound_topic = raw_topic(topics.OUTBOUND_TOPIC)
held_sends_topic = raw_topic(topics.HELD_SENDS_TOPIC)
carrier_sends_topic = raw_topic(topics.CARRIER_SENDS_TOPIC)
send_results_topic = raw_topic(topics.SEND_RESULTS_TOPIC)
compliance_alerts_topic = raw_topic(topics.COMPLIANCE_ALERTS_TOPIC)
consent_review_topic = raw_topic(topics.CONSENT_REVIEW_TOPIC)

registry = SchemaRegistry(config.schema_registry_url) if config.schema_registry_url else None
inbound_serde = AvroSerde("inbound_message", topics.INBOUND_TOPIC, registry)
reply_serde = AvroSerde("outbound_reply", topics.REPLIES_TOPIC, registry)
webhook_serde = AvroSerde("webhook_event", topics.WEBHOOK_TOPIC, registry)
optout_event_serde = AvroSerde("optout_event", topics.OPTOUT_EVENTS_TOPIC, registry)
dead_letter_serde = AvroSerde("dead_letter", topics.DEAD_LETTER_TOPIC, registry)
delivery_result_serde = AvroSerde("delivery_result", topics.DELIVERY_RESULTS_TOPIC, registry)
outbound_serde = AvroSerde("outbound_message", topics.OUTBOUND_TOPIC, registry)
send_result_serde = AvroSerde("send_result", topics.SEND_RESULTS_TOPIC, registry)
compliance_alert_serde = AvroSerde("compliance_alert", topics.COMPLIANCE_ALERTS_TOPIC, registry)
review_serde = AvroSerde("consent_review", topics.CONSENT_REVIEW_TOPIC, registry)
retry_serde = AvroSerde("delivery_retry", topics.retry_topic(topics.REPLIES_TOPIC, 1), registry)
