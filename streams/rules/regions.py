"""Where a business number is. Keyword handling is for numbers in the USA and Canada, known by
the number's country (the `phonenumbers` package): other +1 countries (Jamaica, the Bahamas,
the Dominican Republic, ...) have their own rules, and their messages are only forwarded.
Canada has rules of its own (bilingual INFO, one-segment replies, holidays)."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

__all__ = [
    "TOLL_FREE_AREA_CODES",
    "area_codes_of_usa_and_canada",
    "country_of",
    "in_usa_or_canada",
    "is_canadian",
    "is_toll_free",
]

TOLL_FREE_AREA_CODES = frozenset({"800", "833", "844", "855", "866", "877", "888"})


@lru_cache(maxsize=65536)
def country_of(number: str) -> str | None:
    """The ISO country of a number's area code ('US', 'CA', 'JM', ...), or None."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return None


def in_usa_or_canada(number: str) -> bool:
    """A +1 number of the USA or Canada; a number no country claims (+1555..., made up) is not."""
    return number.startswith("+1") and country_of(number) in ("US", "CA")


def is_canadian(number: str) -> bool:
    return number.startswith("+1") and country_of(number) == "CA"


def is_toll_free(number: str) -> bool:
    return number.startswith("+1") and number[2:5] in TOLL_FREE_AREA_CODES


@lru_cache(maxsize=1)
def area_codes_of_usa_and_canada() -> tuple[str, ...]:
    """The geographic area codes `phonenumbers` places in the USA or Canada, in order."""
    codes = (str(code) for code in range(200, 1000))
    return tuple(
        code for code in codes
        if code not in TOLL_FREE_AREA_CODES and country_of(f"+1{code}5550100") in ("US", "CA")
    )  # fmt: skip
