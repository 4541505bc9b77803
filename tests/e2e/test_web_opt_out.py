"""The public opt-out page through the running service: a number typed there is blocked in the
number's scope with source `web`, a bad one is refused with a readable page, and a client that
posts too often is slowed down."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.support import Stack, blocked, configure, eventually

pytestmark = pytest.mark.e2e


def fetch(stack: Stack, path: str, phone: str | None = None) -> tuple[int, str]:
    data = None if phone is None else urllib.parse.urlencode({"phone": phone}).encode()
    request = urllib.request.Request(stack.web_url + path, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_a_number_entered_on_the_page_is_blocked_from_the_web(stack: Stack) -> None:
    number, user = "+12125550111", "+12135550111"
    status, form = fetch(stack, f"/opt-out/{number}")
    assert status == 200 and "<label for='phone'>" in form and "Stop text messages" in form
    assert "http" not in form.split("<body>")[0]  # nothing loaded from elsewhere
    status, done = fetch(stack, f"/opt-out/{number}", "(213) 555-0111")
    assert status == 200 and f"{user} will get no more text messages" in done
    eventually(lambda: blocked(stack, number, user), what="the web opt-out")
    _, answer = stack.lookup(number, user)
    assert answer["source"] == "web" and answer["reason"].startswith("opted out on the web page")


def test_a_brands_page_blocks_in_the_brands_scope(stack: Stack) -> None:
    a, b, user = "+12125550121", "+12125550122", "+12135550121"
    for number in (a, b):
        configure(stack, number, brand_id="web-821", opt_out_scope="brand")
    status, _ = fetch(stack, "/opt-out/brand/web-821", user)
    assert status == 200
    eventually(lambda: blocked(stack, a, user) and blocked(stack, b, user), what="both numbers")
    assert stack.lookup(b, user)[1]["scope"] == "brand:web-821"
    assert fetch(stack, "/opt-out/brand/no-such-brand")[0] == 404


def test_an_unreadable_number_and_too_many_posts_are_refused_readably(stack: Stack) -> None:
    status, page = fetch(stack, "/opt-out/+12125550131", "call me maybe")
    assert status == 400 and "could not read that phone number" in page
    statuses = [fetch(stack, "/opt-out/+12125550131", "(213) 555-0131")[0] for _ in range(6)]
    assert 429 in statuses and statuses[0] == 200
    _, page = fetch(stack, "/opt-out/+12125550131", "(213) 555-0131")
    assert "Too many requests" in page
