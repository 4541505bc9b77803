"""The HTTP API's description, `/openapi.json`, checked against a running worker by
schemathesis: requests generated from the document (with an admin token, so changes are made
too), and every answer checked: no 5xx, a documented status, content type and body. On a stack
of its own, since the generated changes (settings, blocks, replays) would disturb other tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import ADMIN_TOKEN, Stack

pytestmark = pytest.mark.e2e

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("openapi"), agents="classify") as running:
        yield running


def test_every_answer_is_as_documented(api_stack: Stack) -> None:
    schema = schemathesis.openapi.from_url(f"{api_stack.web_url}/openapi.json")
    failures = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        try:
            answers_as_documented(operation.as_strategy())
        except Exception as failure:  # noqa: BLE001 - every operation's failure, reported together
            failures[operation.label] = failure
    assert len(operations) >= 15
    assert not failures, "\n\n".join(f"{label}: {failure}" for label, failure in failures.items())


def answers_as_documented(cases: SearchStrategy[schemathesis.Case]) -> None:
    @given(case=cases)
    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, checks=CHECKS)

    check()
