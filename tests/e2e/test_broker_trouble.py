"""A worker started while the broker is down says so (in JSON log lines here), keeps retrying,
and proceeds once the broker is up."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import cast

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from tests.support import ON_KAFKA, Stack, eventually
from tests.support.brokers import OwnKafka

pytestmark = pytest.mark.e2e


@pytest.fixture
def late_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("late-broker"), agents="reply", OPTOUT_LOG_FORMAT="json")
    try:
        stack.start(with_broker=False)
        yield stack
    finally:
        stack.stop()


def test_a_worker_waits_for_a_broker_that_comes_up_later(late_broker: Stack) -> None:
    stack = late_broker
    stack.worker = stack.spawn_worker(stack.web_port, "worker")  # no broker yet
    eventually(
        lambda: stack.worker_log_text().count("unreachable") >= 3,
        what="the worker to report the broker unreachable and retry",
    )
    assert stack.worker.poll() is None, "the worker gave up"
    (retry, *_) = [
        json.loads(line) for line in stack.worker_log_text().splitlines() if "unreachable" in line
    ]
    assert retry["level"] == "WARNING" and "retrying in" in retry["message"]

    time.sleep(1)
    stack.broker.start()
    stack.wait_ready()


async def registered_brokers(bootstrap: str) -> int | None:
    """How many brokers the cluster describes; None when the node asked did not answer."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        return len((await admin.describe_cluster())["brokers"])
    except KafkaError:
        return None
    finally:
        await admin.close()


@pytest.mark.skipif(not ON_KAFKA, reason="a replicated cluster only: `make test-kafka`")
def test_a_worker_waits_for_as_many_brokers_as_its_topics_replicas(late_broker: Stack) -> None:
    # A cluster still starting registers its brokers one by one: a worker that created its
    # topics with two of three up crashed (InvalidReplicationFactorError, CI, once).
    stack = late_broker
    cluster = cast(OwnKafka, stack.broker).cluster
    stack.broker.start()
    cluster.kill_node(3)
    eventually(
        lambda: asyncio.run(registered_brokers(stack.broker.bootstrap)) == 2,
        what="the cluster to drop the killed node",
        timeout=60,
    )
    stack.worker = stack.spawn_worker(stack.web_port, "worker")
    eventually(
        lambda: "2 of the 3 brokers" in stack.worker_log_text(),
        what="the worker to say it waits for a third broker",
    )
    assert stack.worker.poll() is None, "the worker gave up"
    cluster.start_node(3)
    stack.wait_ready()
