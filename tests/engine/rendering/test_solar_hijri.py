"""Persian dates are Solar Hijri, from jdatetime, for named formats and custom patterns.

Every day of 2020-2030 is formatted by ``LocaleFormats('fa')`` and read back: its
Persian digits as numbers, its names as words, and compared with what jdatetime
itself says of that day (year, month, day, month name, weekday). The Gregorian
calendar is there only when a template names it; without the library, importing
fails instead of printing Gregorian dates.
"""

from __future__ import annotations

import importlib
import re
import sys
import time
from datetime import UTC, date, datetime, timedelta

import jdatetime
import pytest
from babel import Locale
from babel import dates as babel_dates

from rapport.engine.rendering.formats import LocaleFormats

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
TO_ASCII = str.maketrans(PERSIAN_DIGITS, "0123456789")
ZWNJ = "\u200c"


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(n) for n in range((end - start).days + 1)]


def weekday_name(day: jdatetime.date) -> str:
    # jdatetime counts from Saturday; it writes the names as CLDR does, with a
    # zero-width non-joiner in یک‌شنبه where CLDR has یکشنبه: compare without it.
    return str(jdatetime.date.j_weekdays_fa[day.weekday()]).replace(ZWNJ, "")


def expected(day: date, pattern: str) -> str:
    """What a pattern should print for ``day``, built from jdatetime's fields alone."""
    j = jdatetime.date.fromgregorian(date=day)
    fields = {
        "y": str(j.year),
        "yyyy": f"{j.year:04d}",
        "yy": f"{j.year % 100:02d}",
        "M": str(j.month),
        "MM": f"{j.month:02d}",
        "MMMM": jdatetime.date.j_months_fa[j.month - 1],
        "d": str(j.day),
        "dd": f"{j.day:02d}",
        "EEEE": weekday_name(j),
    }
    text = re.sub(r"[A-Za-z]+", lambda m: fields[m.group(0)], pattern)
    return text.translate(str.maketrans("0123456789", PERSIAN_DIGITS))


#: The named formats, as the patterns they must equal, and custom patterns.
CASES = {
    "short": "y/M/d",
    "medium": "d MMMM y",
    "long": "d MMMM y",
    "full": "EEEE d MMMM y",
    "d MMMM y": "d MMMM y",
    "yyyy/MM/dd": "yyyy/MM/dd",
    "EEEE، dd MMMM yy": "EEEE، dd MMMM yy",
    "MMMM y": "MMMM y",
}


def test_every_day_of_2020_to_2030_agrees_with_jdatetime() -> None:
    formats = LocaleFormats(Locale.parse("fa"))
    started = time.perf_counter()
    checked = 0
    for day in days(date(2020, 1, 1), date(2030, 12, 31)):
        for format, pattern in CASES.items():
            text = formats.format_date(day, format).replace(ZWNJ, "")
            assert text == expected(day, pattern), (day, format)
            checked += 1
    assert checked == 4018 * len(CASES)
    assert time.perf_counter() - started < 10


def test_day_month_and_year_read_back_from_the_text_are_jdatetime_s() -> None:
    # The same check the other way round: parse the Persian digits out of the text.
    formats = LocaleFormats(Locale.parse("fa_IR"))
    for day in days(date(2020, 1, 1), date(2030, 12, 31))[::7]:
        j = jdatetime.date.fromgregorian(date=day)
        year, month, dom = map(
            int, formats.format_date(day, "short").translate(TO_ASCII).split("/")
        )
        assert (year, month, dom) == (j.year, j.month, j.day)
        assert formats.format_date(day, "D") == f"{j.yday()}".translate(
            str.maketrans("0123456789", PERSIAN_DIGITS)
        )


@pytest.mark.parametrize(
    ("day", "expected_date"),
    [
        (date(2025, 3, 20), "۱۴۰۳/۱۲/۳۰"),  # 1403 is a leap year
        (date(2025, 3, 21), "۱۴۰۴/۱/۱"),  # Nowruz
        (date(2025, 9, 22), "۱۴۰۴/۶/۳۱"),  # last day of a 31-day month
        (date(2025, 9, 23), "۱۴۰۴/۷/۱"),
    ],
)
def test_month_edges(day: date, expected_date: str) -> None:
    assert LocaleFormats(Locale.parse("fa")).format_date(day, "short") == expected_date


def test_a_datetime_pattern_is_solar_hijri_with_the_local_time() -> None:
    formats = LocaleFormats(Locale.parse("fa"))
    moment = datetime(2025, 3, 20, 21, 0, tzinfo=UTC)  # already 1 Farvardin in Tehran
    assert formats.format_datetime(moment, "d MMMM y، HH:mm", "Asia/Tehran") == (
        "۱ فروردین ۱۴۰۴، ۰۰:۳۰"
    )
    assert formats.format_datetime(moment, "short", "Asia/Tehran").startswith("۱۴۰۴/۱/۱")


def test_the_gregorian_calendar_only_when_a_template_names_it() -> None:
    formats = LocaleFormats(Locale.parse("fa"))
    day = date(2025, 3, 21)
    gregorian = babel_dates.format_date(day, "d MMMM y", locale="fa")
    assert formats.format_date(day, "d MMMM y", calendar="gregorian") == gregorian.translate(
        str.maketrans("0123456789", PERSIAN_DIGITS)
    )
    assert formats.format_date(day, "long", calendar="persian") == "۱ فروردین ۱۴۰۴"
    with pytest.raises(ValueError, match="unknown calendar"):
        formats.format_date(day, "long", calendar="julian")
    with pytest.raises(ValueError, match="Persian only"):
        LocaleFormats(Locale.parse("en")).format_date(day, calendar="persian")
    with pytest.raises(ValueError, match="week field"):
        formats.format_date(day, "w")


def test_without_the_calendar_library_importing_fails_loudly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "jdatetime", None)  # as if it were not installed
    for name in ("rapport.engine.rendering.solar_hijri", "rapport.engine.rendering.formats"):
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError):
        importlib.import_module("rapport.engine.rendering.formats")


#: CLDR's fa_AF (Dari, Afghanistan) names of the Solar Hijri months, from
#: common/main/fa_AF.xml, calendar "persian": the zodiac names Afghanistan's civil
#: calendar uses, format-wide (سنبلهٔ with its ezafe) and stand-alone narrow.
DARI_MONTHS = (
    "حمل", "ثور", "جوزا", "سرطان", "اسد", "سنبلهٔ",
    "میزان", "عقرب", "قوس", "جدی", "دلو", "حوت",
)  # fmt: skip
DARI_NARROW = ("ح", "ث", "ج", "س", "ا", "س", "م", "ع", "ق", "ج", "د", "ح")


@pytest.mark.parametrize("locale", ["fa_AF", "fa_Arab_AF"])
def test_an_afghan_reader_gets_the_dari_month_names_cldr_gives_fa_af(locale: str) -> None:
    formats = LocaleFormats(Locale.parse(locale))
    for month in range(1, 13):
        day = jdatetime.date(1405, month, 10).togregorian()
        assert formats.format_date(day, "d MMMM y") == f"۱۰ {DARI_MONTHS[month - 1]} ۱۴۰۵"
        assert formats.format_date(day, "MMMMM") == DARI_NARROW[month - 1]
    assert formats.format_date(date(2026, 7, 1), "long") == "۱۰ سرطان ۱۴۰۵"


def test_an_iranian_reader_keeps_the_iranian_month_names() -> None:
    for locale in ("fa", "fa_IR"):
        formats = LocaleFormats(Locale.parse(locale))
        assert formats.format_date(date(2026, 7, 1), "long") == "۱۰ تیر ۱۴۰۵"
