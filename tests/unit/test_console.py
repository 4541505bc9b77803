"""The console's pages, its reading rule and the API description, without a running service."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from types import SimpleNamespace

import pytest

from optout.console.pages import (
    SENDERS_PER_PAGE,
    WORKER_NAV,
    blocked_senders_csv,
    cannot_show,
    figures_page,
    home_page,
    number_from_query,
    number_page,
    pair_form,
    pair_page,
    queues_page,
    why,
)
from optout.streams.config import config
from optout.streams.web import auth
from optout.streams.web.openapi import PATHS, REPLICA_PATHS, openapi_document
from optout.tables.views.figures import figures_from

NUMBER, USER = "+12125550100", "+14155550100"
STOP = {
    "event_id": "e-1", "action": "OPT_OUT", "business_number": NUMBER, "end_user_number": USER,
    "scope": f"number:{NUMBER}", "keyword": "STOP", "message_id": "m-1", "source": "keyword",
    "received_at": 1_790_000_000_000, "occurred_at": 1_790_000_000_050, "reason": None,
    "actor": None, "text": "STOP <script>alert(1)</script>", "rule": "exact_keyword",
    "ruleset": "2026-12-03", "confirmation": "Acme: You are unsubscribed.",
}  # fmt: skip
BLOCKED = {
    "number": NUMBER, "sender": USER, "blocked": True, "scope": f"number:{NUMBER}",
    "since": "2026-09-21T12:26:40.050+00:00", "since_ms": 1_790_000_000_050, "texted": NUMBER,
    "keyword": "STOP", "message_id": "m-1", "source": "keyword", "reason": None,
}  # fmt: skip


def test_a_pair_page_says_blocked_why_and_shows_the_history_escaped() -> None:
    shown = pair_page(NUMBER, USER, BLOCKED, [STOP], WORKER_NAV)
    assert f"Blocked: {NUMBER} may not text {USER}." in shown
    assert f"Blocked by STOP texted to {NUMBER} at 2026-09-21T12:26:40.050+00:00" in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown and "<script>alert" not in shown
    assert "Acme: You are unsubscribed." in shown and "exact_keyword" in shown
    assert f"/v1/blocklist/{NUMBER}/{USER}/evidence?format=html".replace("+", "%2B") in shown


def test_a_pair_page_shows_the_recorded_opt_in_sends_rely_on_escaped() -> None:
    opt_in = {"opt_in_id": "opt-in-1", "kinds": ["marketing"], "method": "web",
              "disclosure_text": "Reply STOP <b>now</b>", "disclosure_version": "v3",
              "given_at": 1_790_000_000_000, "page": "https://acme.example/join",
              "client_address": "203.0.113.7"}  # fmt: skip
    open_answer = BLOCKED | {"blocked": False, "source": "opt_in", "opt_in": opt_in}
    recorded = STOP | {"action": "OPT_IN", "source": "opt_in", "opt_in": opt_in,
                       "origin": "list.csv:7"}  # fmt: skip
    shown = pair_page(NUMBER, USER, open_answer, [recorded], WORKER_NAV)
    assert "Sends rely on the recorded opt-in: web at 2026-09-21T14:13:20.000+00:00" in shown
    assert "disclosure v3: Reply STOP &lt;b&gt;now&lt;/b&gt;" in shown and "<b>now" not in shown
    assert "<dt>opt-in record</dt>" in shown and "<dd>list.csv:7</dd>" in shown


def test_a_pair_page_changes_its_state_with_the_history_and_says_what_a_replica_lacks() -> None:
    before = pair_page(NUMBER, USER, BLOCKED, [STOP], WORKER_NAV)
    after = pair_page(NUMBER, USER, BLOCKED, [STOP, STOP], WORKER_NAV)
    state = 'data-state="'
    assert before.split(state)[1][:12] != after.split(state)[1][:12]
    on_replica = pair_page(NUMBER, USER, BLOCKED, None, WORKER_NAV)
    assert "keeps the block list only" in on_replica and "Change by hand" not in on_replica


def test_why_names_a_manual_change_and_a_pair_with_no_changes() -> None:
    manual = BLOCKED | {"source": "manual", "keyword": None, "reason": "ticket 42"}
    assert why(manual).startswith("Blocked manual change: ticket 42")
    assert why(BLOCKED | {"blocked": False, "since": None}) == (
        "No opt-out or opt-in on record for this scope."
    )


def test_a_number_page_links_the_next_page_only_when_there_is_one() -> None:
    blocked = {"sender": USER, "since": 1_790_000_000_050, "keyword": "STOP", "source": "keyword"}
    last = number_page(NUMBER, None, [blocked], None, WORKER_NAV)
    full = [blocked | {"sender": f"+12125550{100 + n}"} for n in range(SENDERS_PER_PAGE - 1)]
    more = number_page(NUMBER, {"brand_name": "Acme"}, [*full, blocked], None, WORKER_NAV)
    assert "Next page" not in last and "Settings" not in last
    assert "after=%2B14155550100" in more and "Next page" in more and "Acme" in more


def test_every_page_loads_and_links_only_within_the_service() -> None:
    pages = [
        home_page(WORKER_NAV),
        pair_page(NUMBER, USER, BLOCKED, [STOP], WORKER_NAV),
        number_page(NUMBER, {"brand_name": "Acme"}, [], None, WORKER_NAV),
        queues_page([], [], 0, WORKER_NAV),
        figures_page({"Messages by intent": {"OPT_OUT": 1}}, WORKER_NAV),
    ]
    for shown in pages:
        addresses = re.findall(r"(?:src|href|action|data-api|data-refresh)='([^']*)'", shown)
        assert addresses and all(a[:1] in ("/", "#") for a in addresses), addresses


def test_a_malformed_number_is_400_and_a_missing_token_401_each_with_the_form_again() -> None:
    form = pair_form("12345", USER)
    malformed = cannot_show("A pair", form, WORKER_NAV, "not an E.164 number: 12345", None)
    no_token = cannot_show("A pair", form, WORKER_NAV, None, "Reading needs a token")
    assert malformed is not None and malformed[1] == 400 and "value='12345'" in malformed[0]
    assert no_token is not None and no_token[1] == 401 and "role='alert'" in no_token[0]
    assert cannot_show("A pair", form, WORKER_NAV, None, None) is None


def test_the_csv_cannot_start_a_formula_in_a_spreadsheet() -> None:
    sender = {"sender": USER, "since": 1_790_000_000_050, "texted": NUMBER, "source": "manual",
              "keyword": None, "reason": "=HYPERLINK(\"http://x\")"}  # fmt: skip
    rows = list(csv.reader(io.StringIO(blocked_senders_csv(NUMBER, "brand:acme", [sender]))))
    assert rows[0][:3] == ["number", "scope", "sender"]
    assert rows[1][2] == USER and rows[1][-1].startswith("'=")


@pytest.mark.parametrize(
    ("given", "number"), [("+12125550100", "+12125550100"), (" 12125550100", "+12125550100")]
)
def test_a_plus_sent_unencoded_in_a_query_is_put_back(given: str, number: str) -> None:
    assert number_from_query(given) == number


def test_reading_takes_the_console_cookie_and_changes_only_the_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed = replace(config, admin_tokens={"s3cret": "ops"}, lookups_need_token=True)
    monkeypatch.setattr(auth, "config", closed)
    with_cookie = SimpleNamespace(headers={}, cookies={auth.TOKEN_COOKIE: "s3cret"})
    with_header = SimpleNamespace(headers={"Authorization": "Bearer s3cret"}, cookies={})
    with_nothing = SimpleNamespace(headers={}, cookies={auth.TOKEN_COOKIE: "wrong"})
    assert auth.reading_refusal(with_cookie) is None
    assert auth.reading_refusal(with_nothing) is not None
    assert auth.admin_caller(with_header) == "ops"
    with pytest.raises(auth.Refused):
        auth.admin_caller(with_cookie)


def test_figures_sum_metric_samples_by_what_people_ask() -> None:
    samples = {
        "optout_messages_total": [({"intent": "OPT_OUT", "rule": "a"}, 2.0),
                                  ({"intent": "OPT_OUT", "rule": "b"}, 1.0)],
        "optout_consumer_lag": [({"topic": "inbound-messages", "partition": "0"}, 5.0),
                                ({"topic": "inbound-messages", "partition": "1"}, 2.0)],
        "optout_reply_after_inbound_seconds_bucket": [({"intent": "OPT_OUT", "le": "300.0"}, 3.0)],
    }  # fmt: skip
    figures = figures_from(samples)
    assert figures["Messages by intent"] == {"OPT_OUT": 3}
    assert figures["Consumer lag"] == {"all topics": 7, "inbound-messages": 7}
    assert figures["Compliance clock"]["accepted within 300 s"] == 3


def test_the_api_document_describes_every_operation_and_a_replica_only_its_lookups() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.")
    for path, item in PATHS.items():
        for method, operation in item.items():
            if method != "parameters":
                assert operation["summary"] and operation["responses"], (path, method)
    replica = openapi_document(REPLICA_PATHS)["paths"]
    assert set(replica) == set(REPLICA_PATHS)
    assert set(replica["/v1/blocklist/{number}/{sender}"]) == {"get", "parameters"}
