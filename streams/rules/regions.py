"""Where a business number is: only +1 numbers get keyword handling; Canada has its own rules."""

from __future__ import annotations

__all__ = ["CANADIAN_AREA_CODES", "NANP_PREFIX", "is_canadian", "is_nanp"]

NANP_PREFIX = "+1"

# Canadian area codes of the North American Numbering Plan (CNAC list, 2026).
CANADIAN_AREA_CODES = frozenset(
    {
        "204", "226", "236", "249", "250", "257", "263", "289", "306", "343", "354", "365", "367",
        "368", "382", "387", "403", "416", "418", "428", "431", "437", "438", "450", "460", "468",
        "474", "506", "514", "519", "548", "579", "581", "584", "587", "600", "604", "613", "622",
        "639", "647", "672", "683", "705", "709", "742", "753", "778", "780", "782", "807", "819",
        "825", "851", "867", "873", "879", "902", "905", "942",
    }
)  # fmt: skip


def is_nanp(number: str) -> bool:
    return number.startswith(NANP_PREFIX)


def is_canadian(number: str) -> bool:
    """A +1 number whose area code is Canadian."""
    return is_nanp(number) and number[2:5] in CANADIAN_AREA_CODES
