"""The public opt-out page's rules: numbers as people type them, and the rate limit."""

from __future__ import annotations

import pytest

from optout.streams.rules.web_opt_out import opt_out_command, typed_number
from optout.streams.web.rate_limit import RateLimit


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("(415) 555-0100", "+14155550100"),
        ("415.555.0100", "+14155550100"),
        ("+1 415 555 0100", "+14155550100"),
        ("1-416-555-0199", "+14165550199"),
        ("+44 20 7946 0018", "+442079460018"),
        ("555-0100", None),
        ("call me", None),
        ("", None),
        ("4" * 200, None),
        ("415-555-0100 ext 12", None),  # not read as the number without its extension
        ("+14155550100\n", "+14155550100"),  # typed by a person: the one key of that number
        ("+１ ４１５ ５５５ ０１００", "+14155550100"),
        ("٤١٥-٥٥٥-٠١٠٠", "+14155550100"),
    ],
)
def test_a_number_is_read_as_people_type_it(typed: str, number: str | None) -> None:
    assert typed_number(typed) == number


def test_the_command_is_an_opt_out_in_the_numbers_scope_from_the_web() -> None:
    command = opt_out_command("+18005550101", "brand:acme", "+14155550100", 7)
    assert (command["action"], command["scope"], command["source"], command["actor"]) == (
        "OPT_OUT", "brand:acme", "web", "web",
    )  # fmt: skip


def test_the_rate_limit_allows_a_burst_then_refills() -> None:
    limit = RateLimit(per_minute=6, burst=3)
    assert [limit.allow("a", now=0.0) for _ in range(4)] == [True, True, True, False]
    assert limit.allow("b", now=0.0)  # another client has its own bucket
    assert not limit.allow("a", now=5.0) and limit.allow("a", now=10.0)  # one per 10 s


def test_the_rate_limit_forgets_the_least_recent_clients() -> None:
    limit = RateLimit(per_minute=1, burst=1, clients=2)
    for client in ("a", "b", "c"):
        limit.allow(client, now=0.0)
    assert list(limit.buckets) == ["b", "c"]
