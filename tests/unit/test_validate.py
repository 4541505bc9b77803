"""Inbound messages that decode but cannot be acted on get a reason."""

from __future__ import annotations

import pytest

from optout.streams.rules.validate import InvalidMessage, validate_inbound

GOOD = {
    "message_id": "m-1",
    "channel": "SMS",
    "from_number": "+14155550100",
    "to_number": "+12125550100",
    "text": "hi",
    "media_urls": [],
    "received_at": 0,
    "carrier": None,
}


def test_a_good_message_passes() -> None:
    validate_inbound(GOOD)
    validate_inbound(GOOD | {"channel": "MMS", "text": "", "media_urls": ["https://m/1.jpg"]})


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"message_id": " "}, "message_id is empty"),
        ({"from_number": "5550001111"}, "from_number '5550001111' is not an E.164"),
        ({"to_number": "+1212abc"}, r"to_number .\+1212abc. is not an E.164"),
        ({"media_urls": ["https://m/1.jpg"]}, "an SMS carries no media_urls"),
        ({"channel": "MMS", "text": ""}, "an MMS carries neither text nor media_urls"),
        ({"text": "x" * 10_001}, "over 10000"),
    ],
)
def test_problems_are_named(change: dict, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        validate_inbound(GOOD | change)
