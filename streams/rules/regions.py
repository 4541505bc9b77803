"""Where a business number is. Keyword handling is for numbers in the USA and Canada, known by
the number's country (the `phonenumbers` package): other +1 countries (Jamaica, the Bahamas,
the Dominican Republic, ...) have their own rules, and their messages are only forwarded.

The USA here includes its territories on the North American plan, which `phonenumbers` names as
regions of their own: Puerto Rico (PR, +1 787 and 939), the US Virgin Islands (VI, 340), Guam
(GU, 671), the Northern Mariana Islands (MP, 670) and American Samoa (AS, 684). The TCPA and
the carriers' rules apply there as in the states: keyword handling, US English replies, US
holidays for review deadlines; quiet hours by the territory's own time zone (quiet_hours.py).
Canada has rules of its own (bilingual INFO, one-segment replies, holidays).
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

__all__ = [
    "STATES_AND_PROVINCES",
    "TOLL_FREE_AREA_CODES",
    "US_TERRITORIES",
    "USA_AND_CANADA",
    "area_codes_of",
    "area_codes_of_usa_and_canada",
    "country_of",
    "in_us_territory",
    "in_usa_or_canada",
    "is_canadian",
    "is_toll_free",
]

TOLL_FREE_AREA_CODES = frozenset({"800", "833", "844", "855", "866", "877", "888"})
US_TERRITORIES = frozenset({"PR", "VI", "GU", "MP", "AS"})
STATES_AND_PROVINCES = frozenset({"US", "CA"})  # phonenumbers' US: the states and DC
USA_AND_CANADA = STATES_AND_PROVINCES | US_TERRITORIES


@lru_cache(maxsize=65536)
def country_of(number: str) -> str | None:
    """The ISO country of a number's area code ('US', 'CA', 'PR', 'JM', ...), or None."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return None


def in_usa_or_canada(number: str) -> bool:
    """A +1 number of the USA (its territories too) or Canada; a number no country claims
    (+1555..., made up) is not."""
    return number.startswith("+1") and country_of(number) in USA_AND_CANADA


def in_us_territory(number: str) -> bool:
    """A +1 number of Puerto Rico, the US Virgin Islands, Guam, the Northern Marianas or
    American Samoa."""
    return number.startswith("+1") and country_of(number) in US_TERRITORIES


def is_canadian(number: str) -> bool:
    return number.startswith("+1") and country_of(number) == "CA"


def is_toll_free(number: str) -> bool:
    return number.startswith("+1") and number[2:5] in TOLL_FREE_AREA_CODES


@lru_cache(maxsize=8)
def area_codes_of(countries: frozenset[str]) -> tuple[str, ...]:
    """The geographic area codes `phonenumbers` places in one of `countries`, in order."""
    codes = (str(code) for code in range(200, 1000))
    return tuple(
        code for code in codes
        if code not in TOLL_FREE_AREA_CODES and country_of(f"+1{code}5550100") in countries
    )  # fmt: skip


def area_codes_of_usa_and_canada() -> tuple[str, ...]:
    """The geographic area codes of the USA (its territories too) and Canada, in order."""
    return area_codes_of(USA_AND_CANADA)
