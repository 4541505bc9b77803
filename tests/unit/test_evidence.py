"""The evidence record and its printable page (streams/rules/evidence.py)."""

from __future__ import annotations

from optout.streams.rules.evidence import evidence, evidence_html

STOP = {
    "event_id": "m-1:OPT_OUT", "action": "OPT_OUT", "business_number": "+12125550601",
    "end_user_number": "+14155550600", "scope": "number:+12125550601", "keyword": "STOP",
    "message_id": "m-1", "source": "keyword", "received_at": 1_790_000_000_000,
    "occurred_at": 1_790_000_000_050, "reason": None, "actor": None, "text": "STOP <now>",
    "rule": "keyword_with_filler", "ruleset": "2026-12-03",
    "confirmation": "Acme: You are unsubscribed and will receive no more messages.",
}  # fmt: skip
NOW = {"blocked": True, "scope": "number:+12125550601"}


def test_each_change_says_when_the_carrier_accepted_its_confirmation() -> None:
    found = evidence(STOP["business_number"], STOP["end_user_number"], NOW, [STOP],
                     {"m-1": 1_790_000_000_900}, 1_790_000_100_000)  # fmt: skip
    (change,) = found["changes"]
    assert change["confirmation_accepted"] == "2026-09-21T14:13:20.900+00:00"
    assert change["texted"] == "+12125550601" and change["rule"] == "keyword_with_filler"
    assert found["now"] is NOW


def test_the_printable_page_escapes_what_people_wrote() -> None:
    found = evidence("+12125550601", "+14155550600", NOW, [STOP], {}, 1_790_000_100_000)
    page = evidence_html(found)
    assert "STOP &lt;now&gt;" in page and "<now>" not in page
    assert "<strong>blocked</strong>" in page and "Acme: You are unsubscribed" in page
    assert "<script" not in page and "http" not in page.split("<body>")[0]
