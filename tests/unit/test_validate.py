"""Inbound messages that decode but cannot be acted on get a reason; and every number that
enters the service (messages, sends, lookups, commands, the command line) is E.164 with nothing
around it, or refused with the reason."""

from __future__ import annotations

import pytest

from optout.schemas import AvroSerde
from optout.streams.cli.main import parser as cli_parser
from optout.streams.rules.gate import REJECT, gate_verdict
from optout.streams.rules.lookup_answers import pair_problem, parse_batch
from optout.streams.rules.quiet_hours import window_problem
from optout.streams.rules.scopes import Consent
from optout.streams.rules.validate import (
    E164,
    InvalidMessage,
    command_problems,
    is_e164,
    not_text_problem,
    number_problem,
    validate_inbound,
)
from optout.tables.views.sends import send_from_body

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


# Strict numbers: E.164 with nothing around it, never trimmed or normalised into another key.
NUMBER = "+12125550100"
NOT_NUMBERS = [
    NUMBER + "\n",  # `$` matched before it: the bug this guards against
    NUMBER + "\r\n",
    NUMBER + "\r",
    NUMBER + " ",
    " " + NUMBER,
    NUMBER + "\t",
    "\t" + NUMBER,
    "\n" + NUMBER,
    NUMBER + "\x00",
    "\u200b" + NUMBER,  # zero-width space
    "+１２１２５５５０１００",  # fullwidth digits
    "+١٢١٢٥٥٥٠١٠٠",  # Arabic-Indic digits
    "+۱۲۱۲۵۵۵۰۱۰۰",  # extended Arabic-Indic (Persian) digits
    "+1212555٠١٠٠",  # ASCII and Arabic-Indic mixed
    "＋12125550100",  # fullwidth plus
    "12125550100",
    "+1 212 555 0100",
    "+",
    "",
    "+0212555010",  # no country code starts with 0
    "+123456",  # 6 digits: too short
    "+1234567890123456",  # 16 digits: too long
]


@pytest.mark.parametrize("number", ["+1234567", NUMBER, "+447700900123", "+123456789012345"])
def test_an_e164_number_is_one(number: str) -> None:
    assert is_e164(number) and number_problem("to_number", number) is None
    assert pair_problem(number, number) is None


@pytest.mark.parametrize("number", NOT_NUMBERS)
def test_anything_around_or_inside_a_number_makes_it_none(number: str) -> None:
    assert not is_e164(number)
    assert E164.match(number) is None and E164.search(number) is None  # strict for every caller
    assert number_problem("to_number", number) == (
        f"invalid number: to_number {number!r} is not an E.164 number like +12125550123"
    )
    with pytest.raises(InvalidMessage, match="invalid number: from_number"):
        validate_inbound(GOOD | {"from_number": number})
    assert repr(number) in (pair_problem(NUMBER, number) or "")


@pytest.mark.parametrize("number", [None, 12125550100, 1.5, ["+12125550100"], {"n": 1}])
def test_what_is_not_a_string_is_no_number(number: object) -> None:
    assert not is_e164(number)
    assert "invalid number" in (number_problem("number", number) or "")


def test_a_send_to_a_number_with_a_newline_is_rejected_as_an_invalid_number() -> None:
    send = GOOD | {"to_number": "+14155550100\n", "reference": None, "category": None}
    verdict = gate_verdict(send, Consent(False, None, "number:+12125550100"), None, 0)
    assert verdict.action == REJECT
    assert "invalid number: to_number '+14155550100\\n'" in (verdict.reason or "")


@pytest.mark.parametrize(
    "body",
    [
        {"pairs": [{"number": NUMBER, "sender": "+14155550100\n"}]},
        {"pairs": [{"number": NUMBER, "sender": "+１４１５５５５０１００"}]},
        {"pairs": [{"number": 12125550100, "sender": "+14155550100"}]},
        {"pairs": [{"number": NUMBER}]},
        {"pairs": ["+12125550100|+14155550100"]},
    ],
)
def test_a_batch_with_a_pair_that_is_not_two_numbers_is_refused_where_it_is(body: dict) -> None:
    with pytest.raises(ValueError, match=r"^pairs\[0\]: "):
        parse_batch(body)


def test_a_batch_of_numbers_is_read_as_given() -> None:
    assert parse_batch({"pairs": [{"number": NUMBER, "sender": "+14155550100"}]}) == [
        (NUMBER, "+14155550100")
    ]


COMMAND = {
    "command_id": "manual-1", "action": "OPT_OUT", "business_number": NUMBER,
    "end_user_number": "+14155550100", "scope": None, "reason": "by phone", "actor": "support",
    "requested_at": 0,
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"end_user_number": "+14155550100\n"}, "invalid number: end_user_number"),
        ({"business_number": " +12125550100"}, "invalid number: business_number"),
        ({"scope": "number:+12125550100\n"}, "invalid number: scope number"),
        ({"scope": "number:+１２１２５５５０１００"}, "invalid number: scope number"),
        ({"scope": "group:acme"}, "is not number:, campaign: or brand:"),
        ({"scope": "brand:"}, "scope brand id '' must be"),
    ],
)
def test_a_command_with_a_malformed_number_or_scope_is_refused(change: dict, problem: str) -> None:
    assert command_problems(COMMAND) == []
    for scope in ("number:+12125550100", "brand:acme", "campaign:spring-1", ""):
        assert command_problems(COMMAND | {"scope": scope}) == []
    problems = command_problems(COMMAND | change)
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    "body", [{"text": "\ud800"}, {"\udfff": "x"}, [["ok", "\ud83d"]], {"a": {"b": ["\udc80"]}}]
)
def test_a_body_with_a_lone_surrogate_is_not_text(body: object) -> None:
    assert "lone surrogate" in (not_text_problem(body) or "")


def test_a_body_of_text_is_text() -> None:
    assert not_text_problem({"text": "Arrêt 🛑 ＳＴＯＰ", "n": 1, "x": [None, True, 1.5]}) is None


def test_a_window_with_anything_around_it_is_refused() -> None:
    assert window_problem("08:00-21:00") is None
    for bad in ("08:00-21:00\n", " 08:00-21:00", "08:00-21:00\t", "０8:00-21:00"):
        assert window_problem(bad) == f"quiet_hours {bad!r} is not a window like 08:00-21:00"


@pytest.mark.parametrize(
    "argv",
    [
        ["blocklist", "check", NUMBER, "+14155550100\n"],
        ["blocklist", "add", NUMBER + " ", "+14155550100", "--reason", "x"],
        ["blocklist", "remove", NUMBER, "+14155550100\r\n", "--reason", "x"],
        ["blocklist", "history", NUMBER, "+１４１５５５５０１００"],
        ["inject", "--from", "+14155550100\n", "--to", NUMBER],
        ["send", "--from", NUMBER, "--to", "+١٤١٥٥٥٥٠١٠٠"],
        ["numbers", "set", NUMBER + "\n", "--brand", "Acme"],
        ["numbers", "get", "\t" + NUMBER],
        ["sends", "replay", "--number", NUMBER + "\n"],
    ],
)
def test_the_command_line_refuses_a_malformed_number_before_doing_anything(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli_parser().parse_args(argv)
    assert exited.value.code == 2
    assert "invalid number" in capsys.readouterr().err


def test_the_command_line_takes_an_e164_number_as_it_is() -> None:
    args = cli_parser().parse_args(["blocklist", "check", NUMBER, "+14155550100"])
    assert (args.number, args.sender) == (NUMBER, "+14155550100")


SEND = {"from": NUMBER, "to": "+14155550100", "text": "Sale!"}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"reference": 5}, "reference must be a string or null"),
        ({"category": {"kind": "marketing"}}, "category must be a string or null"),
        ({"message_id": 7}, "message_id must be a string or null"),
        ({"media_urls": [1]}, "media_urls must be a list of URLs"),
        ({"media_urls": "https://m/1.jpg"}, "media_urls must be a list of URLs"),
        ({"text": None}, "text must be a string"),
        ({"to": 14155550100}, "to must be a string"),
        ({"to": "+14155550100\n"}, "invalid number: to_number '+14155550100\\n'"),
        ({"from": "+１２１２５５５０１００"}, "invalid number: from_number"),
    ],
)
def test_a_send_body_of_the_wrong_types_is_refused_with_the_reason(
    change: dict, problem: str
) -> None:
    send, problems = send_from_body(SEND | change, 0)
    assert any(problem in p for p in problems), problems


def test_a_good_send_body_is_a_send_that_encodes() -> None:
    send, problems = send_from_body(SEND | {"reference": "r-1", "category": None}, 0)
    assert problems == []
    assert AvroSerde("outbound_message", "outbound-messages").encode(send)
