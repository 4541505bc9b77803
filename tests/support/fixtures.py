"""The fixtures every test module may ask for, loaded as a pytest plugin (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from optout.tables.client.blocklist_reader import BlocklistReader
from tests.support.brokers import BrokerForTests, session_broker, stack_broker
from tests.support.stack import Stack
from tests.support.waiting import eventually


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One running stack (broker, worker with every agent, HTTP stand-ins) for the session."""
    tmp = tmp_path_factory.mktemp("stack")
    with Stack(tmp, broker=session_broker(tmp)) as running:
        yield running


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerForTests]:
    """A bare broker for the session (embedded, or a Kafka cluster of its own), for tests that
    talk to Kafka directly."""
    running = stack_broker(tmp_path_factory.mktemp("broker"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def reader(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlocklistReader]:
    """A send service's reader, following the stack's block list from this test process."""
    local = BlocklistReader(stack.broker.bootstrap, tmp_path_factory.mktemp("reader") / "db")
    following = asyncio.run_coroutine_threadsafe(local.run(), stack.loop)
    # As a send service must: no question before the copy has caught up (it has no answer).
    eventually(lambda: local.caught_up, what="the reader to catch up")
    yield local
    following.cancel()
    time.sleep(0.5)
    local.close()
