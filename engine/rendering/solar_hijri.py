"""Dates in the Solar Hijri calendar (Iran's and Afghanistan's civil calendar), in Persian.

The conversion is jdatetime's (a maintained library, imported unconditionally: if it
is missing, importing Rapport's rendering fails, rather than Persian customers silently
reading Gregorian dates). It agrees with the astronomical new-year table the
``holidays`` package ships for every day of 1901-2100.

:func:`format_solar_hijri` renders a Babel (CLDR) date pattern in that calendar:
the year, month, day, day of year, quarter and era fields are Solar Hijri, with
CLDR's Persian month names (``فروردین`` ... ``اسفند``; in Afghanistan, ``fa_AF``,
CLDR's Dari ones, ``حمل`` ... ``حوت``); weekdays, day periods, hours,
minutes, seconds and zones are the same in every calendar and come from Babel. The
named formats are CLDR's ``fa`` patterns for the Persian calendar (``short`` is
``y/M/d``, ``full`` is ``EEEE d MMMM y``). Week-of-year fields (``w``, ``W``, ``Y``)
are refused: their rule in this calendar is not something a template should guess.
Digits come out ASCII; the caller writes them in the locale's digits.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any

import jdatetime  # type: ignore[import-untyped]
from babel import Locale
from babel import dates as babel_dates

__all__ = ["MONTHS", "NAMED_PATTERNS", "format_solar_hijri", "solar_hijri"]

#: CLDR's Persian names of the Solar Hijri months (format and stand-alone, wide and
#: abbreviated are the same words), and their narrow forms.
MONTHS = (
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
)
NARROW_MONTHS = ("ف", "ا", "خ", "ت", "م", "ش", "م", "آ", "آ", "د", "ب", "ا")
#: CLDR's ``fa_AF`` (Dari) names of the same months, Afghanistan's zodiac names
#: (format wide, ``سنبلهٔ`` with its ezafe), and their narrow forms.
DARI_MONTHS = (
    "حمل", "ثور", "جوزا", "سرطان", "اسد", "سنبلهٔ",
    "میزان", "عقرب", "قوس", "جدی", "دلو", "حوت",
)  # fmt: skip
DARI_NARROW_MONTHS = ("ح", "ث", "ج", "س", "ا", "س", "م", "ع", "ق", "ج", "د", "ح")
#: Month names per territory where CLDR's differ from Iran's.
_TERRITORY_MONTHS = {"AF": (DARI_MONTHS, DARI_NARROW_MONTHS)}
#: CLDR's Persian era of the calendar: abbreviated (also narrow) and wide.
ERA = ("ه\u200d.ش.", "هجری شمسی")
#: CLDR's ``fa`` date formats for the Persian calendar.
NAMED_PATTERNS = {
    "short": "y/M/d",
    "medium": "d MMM y",
    "long": "d MMMM y",
    "full": "EEEE d MMMM y",
}
#: Fields that are the same in every calendar: Babel formats them from the Gregorian value.
_SHARED_FIELDS = frozenset("EecabBhHKkmsSAzZvVOXxg")
_REFUSED_FIELDS = frozenset("wWYU")


def solar_hijri(day: date) -> tuple[int, int, int]:
    """(year, month, day) of ``day`` in the Solar Hijri calendar.

    Raises ValueError outside the years the library covers (1-9377 of that calendar,
    from 622 to 9998 of the Gregorian one).
    """
    try:
        converted = jdatetime.date.fromgregorian(date=day)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{day.isoformat()} is outside the Solar Hijri calendar") from exc
    return converted.year, converted.month, converted.day


@lru_cache(maxsize=512)
def _tokens(pattern: str) -> tuple[tuple[str, Any], ...]:
    return tuple(babel_dates.tokenize_pattern(pattern))


def format_solar_hijri(value: date | datetime, pattern: str, locale: Locale) -> str:
    """``value`` formatted with a CLDR date pattern (or a named format) in the Solar
    Hijri calendar, with ASCII digits: ``format_solar_hijri(date(2025, 3, 21), "long",
    fa)`` is ``'1 فروردین 1404'``.
    """
    pattern = NAMED_PATTERNS.get(pattern, pattern)
    day = value.date() if isinstance(value, datetime) else value
    year, month, dom = solar_hijri(day)
    shared: babel_dates.DateTimeFormat | None = None
    parts: list[str] = []
    for kind, token in _tokens(pattern):
        if kind == "chars":
            parts.append(token)
            continue
        char, width = token
        if char in ("y", "u"):
            text = f"{year:0{width}d}"
            parts.append(text[-2:] if width == 2 else text)
        elif char in ("M", "L"):
            parts.append(_month(month, width, locale))
        elif char == "d":
            parts.append(f"{dom:0{width}d}")
        elif char == "D":
            day_of_year = (month - 1) * 31 + dom if month <= 6 else 186 + (month - 7) * 30 + dom
            parts.append(f"{day_of_year:0{width}d}")
        elif char == "F":
            parts.append(str((dom - 1) // 7 + 1))
        elif char in ("Q", "q"):
            parts.append(_quarter(locale, (month - 1) // 3 + 1, char, width))
        elif char == "G":
            parts.append(ERA[1] if width == 4 else ERA[0])
        elif char in _SHARED_FIELDS:
            if shared is None:
                shared = babel_dates.DateTimeFormat(value, locale)
            try:
                parts.append(shared[char * width])
            except AttributeError as exc:  # a time-of-day field on a date
                raise ValueError(f"a date has no {char * width!r} field") from exc
        elif char in _REFUSED_FIELDS:
            raise ValueError(
                f"the week field {char * width!r} is not supported in Solar Hijri dates"
            )
        else:
            raise ValueError(f"unknown date field {char * width!r} in {pattern!r}")
    return "".join(parts)


def _month(month: int, width: int, locale: Locale) -> str:
    if width <= 2:
        return f"{month:0{width}d}"
    wide, narrow = _TERRITORY_MONTHS.get(locale.territory or "", (MONTHS, NARROW_MONTHS))
    return narrow[month - 1] if width == 5 else wide[month - 1]


def _quarter(locale: Locale, quarter: int, char: str, width: int) -> str:
    if width <= 2:
        return f"{quarter:0{width}d}"
    context = "format" if char == "Q" else "stand-alone"
    names = {3: "abbreviated", 4: "wide", 5: "narrow"}
    return str(locale.quarters[context][names.get(width, "wide")][quarter])
