"""SMS segments, counted as a phone counts them.

A text of GSM-7 characters (the GSM 03.38 basic set; the extension table's characters count
twice) fits 160 in one segment and 153 per segment when split; any other character makes the
whole text UCS-2: 70 in one segment, 67 per segment when split (UTF-16 code units, so an emoji
counts twice).
"""

from __future__ import annotations

from math import ceil

__all__ = ["GSM7_BASIC", "GSM7_EXTENDED", "segments"]

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


def segments(text: str) -> tuple[str, int]:
    """The encoding a phone sends `text` in (GSM-7 or UCS-2) and how many segments it takes."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text):
        units = len(text) + sum(c in GSM7_EXTENDED for c in text)
        return "GSM-7", 1 if units <= 160 else ceil(units / 153)
    units = len(text.encode("utf-16-le")) // 2
    return "UCS-2", 1 if units <= 70 else ceil(units / 67)
