"""The fixtures every test module may ask for, loaded as a pytest plugin (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from optout.streams.embedded.broker import EmbeddedBroker, free_port
from tests.support.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One running stack (broker, worker with every agent, HTTP stand-ins) for the session."""
    running = Stack(tmp_path_factory.mktemp("stack"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """A bare embedded broker for the session, for tests that talk to Kafka directly."""
    with EmbeddedBroker(free_port()) as running:
        yield running
