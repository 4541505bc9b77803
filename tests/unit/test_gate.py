"""The send gate's rules (streams/rules/gate.py, streams/rules/quiet_hours.py) with an injected
clock: rejections say why, quiet hours hold and release by the recipient's local time."""

from __future__ import annotations

from datetime import UTC, datetime

from optout.streams.rules.gate import ALLOW, HOLD, REJECT, gate_verdict, send_result
from optout.streams.rules.number_settings import updated_brand
from optout.streams.rules.quiet_hours import next_opening, parse_window, recipient_zones
from optout.streams.rules.scopes import Consent

BUSINESS, LOS_ANGELES, NEW_YORK, TOLL_FREE = (
    "+18005550501", "+14155550500", "+14045550100", "+18555550100",
)  # fmt: skip
TCPA = "08:00-21:00"
NOT_BLOCKED = Consent(False, None, f"number:{BUSINESS}")


def at(iso: str) -> int:
    return int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp() * 1000)


def send(to: str = LOS_ANGELES, text: str = "Sale!") -> dict:
    return {
        "message_id": "s-1", "channel": "SMS", "from_number": BUSINESS, "to_number": to,
        "text": text, "media_urls": [], "reference": "ref-1", "category": None,
        "requested_at": 0,
    }  # fmt: skip


def test_a_send_to_an_end_user_who_opted_out_is_rejected_with_the_stop_behind_it() -> None:
    stop = {
        "business_number": "+18005550502", "blocked": True, "since": at("2026-12-01T10:00:00"),
        "keyword": "STOP", "message_id": "in-9", "reason": None,
    }  # fmt: skip
    verdict = gate_verdict(send(), Consent(True, stop, "brand:acme"), None, at("2026-12-02T20:00"))
    assert verdict.action == REJECT
    assert verdict.reason == (
        f"{LOS_ANGELES} opted out of brand:acme: STOP to +18005550502 at "
        "2026-12-01T10:00:00.000+00:00"
    )
    result = send_result(send(), "REJECTED", 1, verdict.reason, verdict.consent)
    assert (result["scope"], result["blocked_by"], result["blocked_keyword"]) == (
        "brand:acme", "in-9", "STOP",
    )  # fmt: skip
    assert result["reference"] == "ref-1"


def test_an_invalid_send_is_rejected_with_the_reason() -> None:
    verdict = gate_verdict(send(to="415-555-0100"), NOT_BLOCKED, None, 0)
    assert verdict.action == REJECT and "is not an E.164 number" in (verdict.reason or "")


def test_without_quiet_hours_an_allowed_send_goes_at_any_hour() -> None:
    assert gate_verdict(send(), NOT_BLOCKED, None, at("2026-12-02T10:00")).action == ALLOW


def test_quiet_hours_follow_the_recipients_local_time() -> None:
    # 15:00 UTC is 07:00 in Los Angeles and 10:00 in New York (December: standard time).
    moment = at("2026-12-02T15:00")
    assert gate_verdict(send(to=NEW_YORK), NOT_BLOCKED, TCPA, moment).action == ALLOW
    held = gate_verdict(send(to=LOS_ANGELES), NOT_BLOCKED, TCPA, moment)
    assert held.action == HOLD and held.until_ms == at("2026-12-02T16:00")
    released = gate_verdict(send(to=LOS_ANGELES), NOT_BLOCKED, TCPA, held.until_ms or 0)
    assert released.action == ALLOW


def test_a_held_send_waits_past_midnight_for_the_next_morning() -> None:
    late = at("2026-12-03T05:30")  # 21:30 in Los Angeles
    assert next_opening(parse_window(TCPA), LOS_ANGELES, late) == at("2026-12-03T16:00")


def test_a_toll_free_recipient_is_judged_in_every_zone_from_newfoundland_to_hawaii() -> None:
    zones = {z.key for z in recipient_zones(TOLL_FREE)}
    assert {"America/St_Johns", "America/New_York", "Pacific/Honolulu"} <= zones
    assert not zones & {"Pacific/Guam", "Pacific/Pago_Pago"}
    # 14:00 UTC: 10:30 in St. John's but 04:00 in Honolulu: held until 08:00 in Honolulu.
    held = gate_verdict(send(to=TOLL_FREE), NOT_BLOCKED, TCPA, at("2026-12-02T14:00"))
    assert held.action == HOLD and held.until_ms == at("2026-12-02T18:00")
    # 23:00 UTC: 13:00 in Honolulu, 19:30 in St. John's: open everywhere.
    assert (
        gate_verdict(send(to=TOLL_FREE), NOT_BLOCKED, TCPA, at("2026-12-02T23:00")).action == ALLOW
    )


def test_quiet_hours_settings_are_checked() -> None:
    brand = {"brand_id": "acme", "opt_out_scope": None, "quiet_hours": None, "updated_at": 0}
    record, _, problems = updated_brand(brand, {"quiet_hours": "08:00-21:00"}, [], 5)
    assert problems == [] and record["quiet_hours"] == "08:00-21:00"
    for bad in ("8-21", "21:00-08:00", "08:00-25:00"):
        _, _, problems = updated_brand(brand, {"quiet_hours": bad}, [], 5)
        assert problems and "quiet_hours" in problems[0], bad
    _, _, problems = updated_brand(brand, {"quiet": "x"}, [], 5)
    assert problems == [
        "unknown brand setting 'quiet'; settable: opt_out_scope, quiet_hours, kinds, "
        "default_kind, kind_aware, clarify, clarify_window_hours, recorded_consent"
    ]
