"""The operator console in headless Chromium (Debian's, driven by Playwright), against the
running stack: what support and compliance staff do, from the keyboard where it matters, at
1280 and 390 pixels wide. Each test saves a screenshot to build/screenshots/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from optout.streams.embedded.standins import Scripted
from tests.support import ADMIN_TOKEN, AUTH, Stack, blocked, eventually

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("OPTOUT_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parents[2] / "build" / "screenshots"
WIDE, NARROW = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport=WIDE)
    opened = context.new_page()
    yield opened
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    opened.screenshot(path=SCREENSHOTS / f"{request.node.name}.png", full_page=True)
    context.close()


def pair_url(stack: Stack, number: str, sender: str) -> str:
    return f"{stack.web_url}/console/pair?{urlencode({'number': number, 'sender': sender})}"


def enter_token(page: Page) -> None:
    page.get_by_label("Token").fill(ADMIN_TOKEN)
    page.get_by_label("Token").press("Tab")  # the change event keeps it for the tab


def fits(page: Page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


def unlabelled_fields(page: Page) -> list[str]:
    return page.evaluate(
        "[...document.querySelectorAll('input, textarea, select')]"
        ".filter(field => !field.labels || field.labels.length === 0).map(field => field.id)"
    )


def test_a_pair_looked_up_from_the_keyboard_after_a_stop_is_blocked_with_its_history(
    stack: Stack, page: Page
) -> None:
    number, user = "+17025550101", "+17025550151"
    stack.inbound("console-stop-1", user, number, "STOP")
    eventually(lambda: blocked(stack, number, user), what="the opt-out")

    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    home = page.goto(f"{stack.web_url}/console")
    assert home is not None and "default-src 'self'" in home.headers["content-security-policy"]
    for _ in range(20):  # from the top of the page, by Tab alone
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "number":
            break
    page.keyboard.type(number)
    page.keyboard.press("Tab")
    page.keyboard.type(user)
    page.keyboard.press("Enter")

    expect(page.get_by_role("status").first).to_contain_text(f"Blocked: {number} may not text")
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("STOP")
    expect(timeline).to_contain_text("You are unsubscribed")  # the confirmation sent
    assert unlabelled_fields(page) == []
    assert errors == []  # nothing the page loads or runs is refused by its security policy
    assert fits(page, WIDE["width"])
    page.set_viewport_size(NARROW)
    expect(page.get_by_role("status").first).to_be_visible()
    assert fits(page, NARROW["width"])


def test_a_block_made_on_the_page_with_a_reason_shows_in_the_timeline(
    stack: Stack, page: Page
) -> None:
    number, user = "+17025550102", "+17025550152"
    page.goto(pair_url(stack, number, user))
    expect(page.get_by_role("status").first).to_contain_text("Not blocked")
    enter_token(page)
    page.get_by_label("Reason").fill("asked by phone, ticket 4711")
    page.get_by_role("button", name="Block", exact=True).click()

    expect(page.get_by_role("status").first).to_contain_text("Blocked:", timeout=20_000)
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("asked by phone, ticket 4711")
    expect(timeline).to_contain_text("tester")  # the admin token's name, as the actor
    assert blocked(stack, number, user)


def test_a_numbers_blocked_senders_page_through_and_export(stack: Stack, page: Page) -> None:
    number = "+17025550103"
    users = [f"+170255501{n:02d}" for n in range(40, 100)]  # 60 senders, 50 to a page
    for user in users:
        status, _ = stack.http("POST", f"/v1/blocklist/{number}/{user}", {"reason": "paging"}, AUTH)
        assert status == 202
    eventually(lambda: listed(stack, number) == 60, what="60 blocked senders listed")

    page.goto(f"{stack.web_url}/console/number?{urlencode({'number': number})}")
    rows = page.locator("table:has(caption) tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text(users[0])
    page.get_by_role("link", name="Next page").click()
    expect(rows).to_have_count(10)
    expect(rows.last).to_contain_text(users[-1])
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV export").click()
    exported = Path(download.value.path()).read_text().splitlines()
    assert len(exported) == 61 and exported[0].startswith("number,scope,sender")


def listed(stack: Stack, number: str) -> int:
    status, answer = stack.http("GET", f"/v1/blocklist/{number}?limit=1000", headers=AUTH)
    return len(answer["senders"]) if status == 200 else 0


def test_a_dead_letter_is_replayed_from_the_work_queue(stack: Stack, page: Page) -> None:
    number, user, path = "+17025550104", "+17025550154", "/console-replay"
    stack.set_settings(number, webhook_url=stack.webhook_b.url + path)
    stack.webhook_b.script[path] = [Scripted(400)]  # refused once; answers 200 after
    stack.inbound("console-dead-1", user, number, "hello")
    eventually(lambda: len(to_path(stack, path)) == 1, what="the refused delivery")

    page.goto(f"{stack.web_url}/console/queues")
    eventually(lambda: shown_after_reload(page, "tr", "console-dead-1"), what="the dead letter")
    row = page.locator("tr", has_text="console-dead-1")
    expect(row).to_contain_text("HTTP 400")
    enter_token(page)
    row.get_by_role("button", name="Replay").click()

    expect(row.get_by_role("status")).to_contain_text("Replayed")
    eventually(lambda: len(to_path(stack, path)) == 2, what="the replayed delivery")
    first, again = to_path(stack, path)
    assert again.headers["Idempotency-Key"] == first.headers["Idempotency-Key"] == "console-dead-1"


def to_path(stack: Stack, path: str) -> list:
    return [r for r in stack.webhook_b.received if r.path == path]


def shown_after_reload(page: Page, element: str, text: str) -> bool:
    page.reload()
    return page.locator(element, has_text=text).count() == 1


def test_live_figures_change_without_a_reload(stack: Stack, page: Page) -> None:
    page.goto(f"{stack.web_url}/console/figures")
    intents = page.locator("section", has_text="Messages by intent")
    before = intents.inner_text()
    page.evaluate("window.notReloaded = true")
    for n in range(3):
        stack.inbound(f"console-figures-{n}", f"+17025550{160 + n}", "+17025550105", "hello")
    expect(intents).not_to_have_text(before, timeout=15_000)
    assert page.evaluate("window.notReloaded") is True


def test_a_flagged_message_is_decided_on_the_work_queue(stack: Stack, page: Page) -> None:
    number, user = "+17025550106", "+17025550156"
    stack.inbound("console-review-1", user, number, "please just leave me alone")
    page.goto(f"{stack.web_url}/console/queues")
    eventually(lambda: shown_after_reload(page, "li", user), what="the item on the page")
    item = page.locator("li", has_text=user)
    enter_token(page)
    item.get_by_label("Reason").fill("asked to be left alone")
    item.get_by_role("button", name="Opt out").click()

    expect(page.locator("li", has_text=user)).to_have_count(0, timeout=20_000)
    eventually(lambda: blocked(stack, number, user), what="the block from the decision")


def test_a_brands_kinds_are_set_on_its_page_and_a_pair_shows_what_a_stop_let_through(
    stack: Stack, page: Page
) -> None:
    brand, number, user = "console-kinds", "+17025550105", "+17025550155"
    status, answer = stack.http("PUT", f"/v1/numbers/{number}", {"brand_id": brand}, AUTH)
    assert status == 200, answer
    page.goto(f"{stack.web_url}/console/brand?{urlencode({'brand': brand})}")
    enter_token(page)
    page.get_by_label("Kinds", exact=True).fill("marketing, informational, alerts:informational")
    page.get_by_label("Kind-aware STOPs").select_option("on")
    page.get_by_role("button", name="Store").click()
    expect(page.get_by_role("status").last).to_contain_text("Stored", timeout=20_000)
    stored = stack.http("GET", f"/v1/brands/{brand}")[1]
    assert stored["kinds"] == ["marketing", "informational", "alerts:informational"]
    assert stored["kind_aware"] is True and stored["numbers"] == [number]
    assert unlabelled_fields(page) == []

    body = {"from": number, "to": user, "text": "Sale!", "message_id": "console-promo"}
    status, answer = stack.http("POST", "/v1/messages", body | {"category": "marketing"}, AUTH)
    assert status == 202, answer
    eventually(
        lambda: any(r.body.get("client_ref") == "console-promo" for r in stack.carrier.received),
        what="the marketing send delivered",
    )
    stack.inbound("console-kinds-stop", user, number, "STOP")
    eventually(lambda: blocked(stack, number, user), what="the opt-out")
    page.goto(pair_url(stack, number, user))
    expect(page.get_by_role("status").first).to_contain_text(
        "but for informational, alerts messages"
    )
    expect(page.locator("ol.timeline")).to_contain_text("console-promo")  # the send it answered
