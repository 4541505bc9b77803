"""Test support: a running stack, waiting, and questions asked of the stack.

Test modules import from here, never from each other or from conftest.
"""

from tests.support.brokers import (
    ON_KAFKA,
    REPLICATION,
    BrokerForTests,
    on_embedded_broker_only,
    tansu_only,
)
from tests.support.pipeline import (
    AUTH,
    blocked,
    configure,
    doubled,
    events_for,
    final_blocks,
    keyword_traffic,
    replies_to,
    send_results_for,
    settle_and_assert_once,
    webhooks_for,
)
from tests.support.stack import ADMIN_TOKEN, HTTP_TIMEOUT, WEBHOOK_SECRET, Stack
from tests.support.waiting import eventually

__all__ = [
    "ADMIN_TOKEN",
    "AUTH",
    "HTTP_TIMEOUT",
    "ON_KAFKA",
    "REPLICATION",
    "WEBHOOK_SECRET",
    "Stack",
    "BrokerForTests",
    "blocked",
    "configure",
    "doubled",
    "events_for",
    "final_blocks",
    "keyword_traffic",
    "eventually",
    "replies_to",
    "send_results_for",
    "settle_and_assert_once",
    "on_embedded_broker_only",
    "tansu_only",
    "webhooks_for",
]
