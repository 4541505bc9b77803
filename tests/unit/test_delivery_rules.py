"""Pure parts of delivery: signatures, destination checks, retry decisions."""

from __future__ import annotations

import asyncio
import random

import pytest

from optout.streams.rules.destinations import (
    DestinationRefused,
    check_url,
    refusal_for_address,
)
from optout.streams.rules.retry_schedule import (
    Verdict,
    outcome_for_status,
    parse_retry_after,
    retry_delay,
    retry_tier,
)
from optout.streams.rules.webhook_signing import sign, signed_headers, verify_signature
from optout.streams.sinks.public_resolver import PublicOnlyResolver

NOW = 1_795_000_000.0


def test_a_signed_request_verifies_and_a_tampered_one_does_not() -> None:
    body = b'{"message_uuid": "m-1"}'
    headers = signed_headers("s3cret", body, now=NOW)
    timestamp, signature = headers["X-OptOut-Timestamp"], headers["X-OptOut-Signature"]
    assert signature == sign("s3cret", int(NOW), body) and signature.startswith("v1=")
    assert verify_signature("s3cret", body, timestamp, signature, now=NOW + 10)
    assert not verify_signature("s3cret", body + b" ", timestamp, signature, now=NOW)
    assert not verify_signature("other", body, timestamp, signature, now=NOW)
    assert not verify_signature("s3cret", body, timestamp, signature, now=NOW + 301)  # replay
    assert not verify_signature("s3cret", body, None, signature, now=NOW)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "https://10.0.0.1/hook",
        "https://192.168.1.5/hook",
        "https://[::1]:8443/hook",
        "https://127.0.0.1/hook",
        "https://[::ffff:10.0.0.1]/hook",  # IPv4-mapped
        "https://100.64.0.1/hook",  # shared address space
        "https://0.0.0.0/hook",
    ],
)
def test_non_public_addresses_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(DestinationRefused, match="address"):
        check_url(url, allow_http=True, allow_private=False)
    check_url(url, allow_http=True, allow_private=True)


def test_plain_http_needs_an_explicit_setting() -> None:
    with pytest.raises(DestinationRefused, match="not https"):
        check_url("http://example.com/hook", allow_http=False, allow_private=False)
    check_url("https://example.com/hook", allow_http=False, allow_private=False)
    with pytest.raises(DestinationRefused, match="absolute http"):
        check_url("ftp://example.com/x", allow_http=True, allow_private=False)


def test_an_allowed_host_port_pair_passes_and_only_that_pair() -> None:
    allowed = frozenset({"127.0.0.1:8080"})
    check_url("http://127.0.0.1:8080/x", True, False, allowed)
    with pytest.raises(DestinationRefused):
        check_url("http://127.0.0.1:8081/x", True, False, allowed)


def test_a_name_resolving_to_loopback_is_refused_when_resolved() -> None:
    async def resolve(host: str) -> None:
        resolver = PublicOnlyResolver()
        try:
            await resolver.resolve(host, 443)
        finally:
            await resolver.close()

    with pytest.raises(DestinationRefused, match="localhost resolves to 127.0.0.1"):
        asyncio.run(resolve("localhost"))


def test_public_addresses_pass() -> None:
    assert refusal_for_address("93.184.216.34") is None
    assert refusal_for_address("2606:2800:220:1:248:1893:25c8:1946") is None


@pytest.mark.parametrize(
    ("status", "verdict"),
    [(200, Verdict.SENT), (204, Verdict.SENT), (500, Verdict.RETRY), (503, Verdict.RETRY),
     (408, Verdict.RETRY), (429, Verdict.RETRY), (400, Verdict.PERMANENT),
     (404, Verdict.PERMANENT), (301, Verdict.PERMANENT)],
)  # fmt: skip
def test_status_codes(status: int, verdict: Verdict) -> None:
    assert outcome_for_status(status, "body", None, NOW).verdict is verdict


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert parse_retry_after("7", NOW) == 7.0
    assert parse_retry_after("Fri, 31 Dec 1999 23:59:59 GMT", NOW) == 0.0
    assert parse_retry_after("99999", NOW) == 3600.0
    assert parse_retry_after("soon", NOW) is None
    assert outcome_for_status(429, "", "5", NOW).retry_after == 5.0


def test_delays_grow_with_jitter_and_honour_retry_after() -> None:
    delays = (10.0, 60.0, 300.0)
    rng = random.Random(1)
    first = [retry_delay(1, delays, None, rng) for _ in range(200)]
    assert 8.0 <= min(first) < max(first) <= 12.0
    assert 48.0 <= retry_delay(2, delays, None, rng) <= 72.0
    assert 240.0 <= retry_delay(9, delays, None, rng) <= 360.0
    assert retry_delay(1, delays, 100.0, rng) == 100.0
    assert [retry_tier(d, delays) for d in (9, 12, 50, 100, 1000)] == [1, 1, 2, 3, 3]
