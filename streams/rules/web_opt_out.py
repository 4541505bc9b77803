"""The public opt-out page's rules: which phone number a person typed, and what it asks for.

Pure. A person types their number as people do ("(415) 555-0100", "415.555.0100", "+1 415 555
0100", digits of any script); it is read as a North American number unless it starts with + and
a country code, and becomes the one E.164 key every other part of the service uses. This is the
only place a number is read leniently: it is typed by a person, not sent by a program.
"""

from __future__ import annotations

import uuid

import phonenumbers

from optout.schemas import Record
from optout.streams.rules.validate import is_e164

__all__ = ["opt_out_command", "typed_number"]


def typed_number(text: str) -> str | None:
    """The E.164 number a person typed, or None when it is not a valid phone number. One typed
    with an extension is refused rather than read as the number without it (a text reaches no
    extension: that would block a line the person did not name)."""
    try:
        parsed = phonenumbers.parse(text.strip()[:40], "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed) or parsed.extension:
        return None
    number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return number if is_e164(number) else None


def opt_out_command(business_number: str, scope: str, end_user: str, now_ms: int) -> Record:
    """The block-list command the page makes: an opt-out in the number's scope, source web."""
    return {
        "command_id": f"web-{uuid.uuid4()}",
        "action": "OPT_OUT",
        "business_number": business_number,
        "end_user_number": end_user,
        "scope": scope,
        "reason": f"opted out on the web page of {business_number}",
        "actor": "web",
        "source": "web",
        "requested_at": now_ms,
    }
