"""Calendars of public holidays per country, from the ``holidays`` package.

Building a country's calendar for a year is costly next to looking a day up in it,
so calendars are cached per (country, year); the planner asks millions of times.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays


@lru_cache(maxsize=1024)
def _calendar(country: str, year: int) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays(country, years=year, language="en_US")
    except NotImplementedError:
        return None


def has_calendar(country: str | None) -> bool:
    return bool(country) and _calendar(country.upper(), 2000) is not None


def holidays_on(country: str | None, day: date) -> list[str]:
    """English names of the public holidays of ``country`` on ``day`` (may be empty)."""
    if not country:
        return []
    calendar = _calendar(country.upper(), day.year)
    if calendar is None:
        return []
    names = calendar.get_list(day)
    return [str(name) for name in names]


def _best_language(country: str, locale: str) -> str | None:
    """The calendar's language closest to ``locale`` (fa_IR, then any fa_*), if any."""
    calendar = _calendar(country, 2000)
    if calendar is None:
        return None
    supported = getattr(calendar, "supported_languages", ()) or ()
    language = locale.replace("-", "_").split("_")[0].lower()
    for candidate in supported:
        if candidate.replace("-", "_").lower() == locale.replace("-", "_").lower():
            return candidate
    for candidate in supported:
        if candidate.replace("-", "_").split("_")[0].lower() == language:
            return candidate
    return None


@lru_cache(maxsize=4096)
def holiday_name(country: str, day: date, locale: str) -> str | None:
    """The holiday's name in the customer's language where the calendar has it.

    Falls back to English: a name in a language the customer may not read is still
    better than none, and templates can choose not to show it.
    """
    country = country.upper()
    language = _best_language(country, locale) or "en_US"
    try:
        calendar = holidays.country_holidays(country, years=day.year, language=language)
    except NotImplementedError:
        return None
    names = calendar.get_list(day)
    return "; ".join(str(n) for n in names) if names else None
