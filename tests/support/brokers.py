"""The broker a test stack runs on: the embedded Tansu broker (`make test`), or Apache Kafka
(`make test-kafka`, OPTOUT_TEST_KAFKA=1).

On Kafka the session's stack uses the cluster `make kafka` started (OPTOUT_TEST_KAFKA_URL), its
topics deleted first so each run starts empty as on the embedded broker; every other stack (two
workers, the crash test, a restoring worker) gets a three-node cluster of its own in its
temporary folder, as it gets an embedded broker of its own on Tansu.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Protocol

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from optout.streams.embedded.broker import EmbeddedBroker, free_port
from optout.streams.embedded.kafka_cluster import NODES, KafkaCluster, kafka_home

__all__ = [
    "ON_KAFKA",
    "REPLICATION",
    "BrokerForTests",
    "broker_env",
    "session_broker",
    "stack_broker",
    "on_embedded_broker_only",
    "tansu_only",
]

ON_KAFKA = os.environ.get("OPTOUT_TEST_KAFKA", "").lower() in ("1", "true", "yes")
# Topics the tests create themselves: as the service creates its own on each broker.
REPLICATION = 3 if ON_KAFKA else 1
tansu_only = pytest.mark.skipif(ON_KAFKA, reason="about the embedded broker's quirks only")
on_embedded_broker_only = pytest.mark.skipif(
    ON_KAFKA, reason="starts embedded brokers of its own (the benchmarks): run by `make test`"
)


class BrokerForTests(Protocol):
    bootstrap: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    @property
    def pid(self) -> int | None: ...

    @property
    def port(self) -> int: ...


class LocalKafka:
    """A local Kafka cluster as a test's broker: its first node stands for it."""

    def __init__(self, cluster: KafkaCluster, bootstrap: str | None = None) -> None:
        self.cluster = cluster
        self.bootstrap = bootstrap or cluster.bootstrap

    @property
    def port(self) -> int:
        return self.cluster.client_ports[0]

    @property
    def pid(self) -> int | None:
        return self.cluster.pid(1)


class OwnKafka(LocalKafka):
    """A three-node Kafka cluster of one stack's own, in its temporary folder."""

    def __init__(self, home: Path) -> None:
        ports = [free_port() for _ in range(2 * NODES)]
        super().__init__(KafkaCluster(home, tuple(ports[:NODES]), tuple(ports[NODES:])))

    def start(self) -> None:
        libs = kafka_home() / "libs"
        if not self.cluster.libs.exists():
            self.cluster.home.mkdir(parents=True, exist_ok=True)
            self.cluster.libs.symlink_to(libs)  # the jars `make kafka` fetched
        self.cluster.up()

    def stop(self) -> None:
        self.cluster.down(grace_s=0)  # thrown away with the temporary folder


class SharedKafka(LocalKafka):
    """The cluster `make kafka` started, emptied of every topic an earlier run left."""

    def __init__(self) -> None:
        super().__init__(KafkaCluster(kafka_home()), os.environ.get("OPTOUT_TEST_KAFKA_URL"))

    def start(self) -> None:
        asyncio.run(_delete_every_topic(self.bootstrap))

    def stop(self) -> None:
        pass


async def _delete_every_topic(bootstrap: str, timeout: float = 60.0) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if not t.startswith("__")]
        if topics:
            await admin.delete_topics(topics)
        deadline = time.monotonic() + timeout
        while set(await admin.list_topics()) & set(topics):
            assert time.monotonic() < deadline, "the cluster did not delete the last run's topics"
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


def session_broker(tmp: Path) -> BrokerForTests:
    """The broker of the session's stack."""
    return SharedKafka() if ON_KAFKA else EmbeddedBroker(free_port())


def stack_broker(tmp: Path) -> BrokerForTests:
    """A broker of a stack's own."""
    return OwnKafka(tmp / "kafka") if ON_KAFKA else EmbeddedBroker(free_port())


def broker_env() -> dict[str, str]:
    """What a worker is told about the broker it runs on."""
    if ON_KAFKA:
        # Kafka's smallest session timeout (group.min.session.timeout.ms): takeovers in seconds.
        return {
            "OPTOUT_REPLICATION_FACTOR": str(REPLICATION),
            "OPTOUT_SESSION_TIMEOUT_SECONDS": "6",
        }
    return {"OPTOUT_EMBEDDED_BROKER": "true"}
