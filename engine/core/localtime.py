"""A wall-clock time in configuration and campaign files: "HH:MM", in quotes.

Apart from :mod:`rapport.engine.core.config` to keep each module readable at once.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from rapport.engine.core.i18n import localize_digits

__all__ = ["LocalDate", "LocalTime"]

_HH_MM = re.compile(r"[0-9]{2}:[0-9]{2}")


def _local_time(value: object) -> object:
    """A wall-clock time written as "HH:MM".

    YAML reads an unquoted 10:00 as the number 600 (base 60), which pydantic would take
    as seconds since midnight UTC; refuse it with a hint instead of guessing.
    """
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError("a local time has no time zone")
        return value
    if isinstance(value, str):
        value = localize_digits(value, "latn")  # "۰۹:۳۰" from a Persian keyboard is 09:30
        try:
            parsed = time.fromisoformat(value.strip())
        except ValueError:
            raise ValueError('write the time as "HH:MM", e.g. "09:30"') from None
        if parsed.tzinfo is not None:
            raise ValueError("a local time has no time zone: it is the recipient's own")
        if not _HH_MM.fullmatch(value.strip()):  # fromisoformat reads 09:00:30, 0930, T09
            raise ValueError(
                f'write the time as "HH:MM", hours and minutes only, e.g. "09:30" (not {value!r})'
            )
        return parsed
    if type(value) is int and 0 <= value < 24 * 60:  # YAML's base 60: 20:00 is 1200
        written = "{:02d}:{:02d}".format(*divmod(value, 60))
        raise ValueError(
            f'write the time in quotes: "{written}" (unquoted, YAML reads {written} '
            f"as the number {value})"
        )
    raise ValueError('write the time in quotes as "HH:MM" (unquoted, YAML reads 10:00 as 600)')


LocalTime = Annotated[time, BeforeValidator(_local_time)]


def _local_date(value: object) -> object:
    """A date written in Persian or Arabic-Indic digits (``۲۰۲۷-۰۳-۲۱``, which YAML
    reads as text) is read as the same date in 0-9, as imports and ``--date`` read it."""
    return localize_digits(value, "latn") if isinstance(value, str) else value


def _planned_year(value: date) -> date:
    """Not a date before the years Rapport plans (those ``--date`` takes): ``1405-09-10``,
    a Solar Hijri date as an Iranian marketer writes it, was read as the Gregorian year
    1405, and a campaign starting then was active at once. A far later date stays (an
    ``ends_on: 9999-12-31`` written for "never" ends nothing, as before)."""
    from rapport.engine.core.timeutil import DAY_YEARS

    first = DAY_YEARS[0]
    if value.year < first:
        raise ValueError(
            f"{value.isoformat()} is before {first}, the first year planned: dates are "
            "Gregorian (a Solar Hijri date such as 1405-09-10 is not converted; write "
            "its Gregorian date, 2026-12-01)"
        )
    return value


LocalDate = Annotated[date, BeforeValidator(_local_date), AfterValidator(_planned_year)]
