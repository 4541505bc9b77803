"""The HTTP API's description, `/openapi.json`, checked against a running worker by
schemathesis: requests generated from the document (with an admin token, so changes are made
too), and every answer checked: no 5xx, a documented status, content type and body. On a stack
of its own, since the generated changes (settings, blocks, replays) would disturb other tests,
with lookups closed: the console's pages then open with the token cookie, and nothing changes
with it.
"""

from __future__ import annotations

import urllib.error
import urllib.request
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

from optout.streams.web.auth import TOKEN_COOKIE
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
    closed = {"OPTOUT_LOOKUPS_REQUIRE_TOKEN": "true"}
    with Stack(tmp_path_factory.mktemp("openapi"), agents="classify", **closed) as running:
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


def test_with_lookups_closed_the_console_reads_with_the_token_cookie_and_never_changes_with_it(
    api_stack: Stack,
) -> None:
    pair = "/console/pair?number=%2B12125550100&sender=%2B14155550100"
    cookie = {"Cookie": f"{TOKEN_COOKIE}={ADMIN_TOKEN}"}
    assert status_of(api_stack, "GET", pair) == 401
    assert status_of(api_stack, "GET", pair, cookie) == 200
    assert status_of(api_stack, "GET", "/v1/blocklist/+12125550100/+14155550100", cookie) == 200
    block = "/v1/blocklist/+12125550100/+14155550100"
    assert status_of(api_stack, "POST", block, cookie, b'{"reason": "cookie only"}') == 401


def status_of(stack: Stack, method: str, path: str, headers: dict | None = None,
              body: bytes | None = None) -> int:  # fmt: skip
    request = urllib.request.Request(stack.web_url + path, body, headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code
