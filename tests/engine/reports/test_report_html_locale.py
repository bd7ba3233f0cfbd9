"""The HTML report's rates and dates are written as the page's language writes them.

docs/reports.md, "Numbers and money" and "Dates": a rate is CLDR's percent pattern
with one decimal, in the language's digits, decimal separator and percent sign
(Babel's ``format_percent``: ``۵۲٫۴٪`` in Persian, ``52.4%`` in English and
Chinese); the counts beside a rate are in the same digits. A date a person reads is
in the language's CLDR format, in the Solar Hijri calendar on a Persian page
(``۵ آذر ۱۴۰۵``) and the Gregorian one elsewhere; data-* attributes keep ISO dates.

The oracles are independent of the page's code: Babel's own ``format_percent`` and
``format_skeleton`` with CLDR's symbols and digits, and jdatetime's conversion and
month names for the Solar Hijri calendar.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import jdatetime  # type: ignore[import-untyped]
import pytest
from babel import Locale
from babel.dates import format_skeleton
from babel.numbers import format_percent

from rapport.engine.reports.html import to_html
from rapport.engine.reports.labels import Words

LANGUAGES = ("en", "fa", "zh", "zh_Hant", "ar")
#: The digits of CLDR's numbering systems these languages use by default.
DIGITS = {"latn": "0123456789", "arabext": "۰۱۲۳۴۵۶۷۸۹", "arab": "٠١٢٣٤٥٦٧٨٩"}
PERSIAN = str.maketrans("0123456789", DIGITS["arabext"])


def unit(text: str) -> str:
    """A date on a right-to-left page: one bidi unit (first-strong isolate)."""
    return f"\u2068{text}\u2069"


def _babel_rate(value: float, language: str) -> str:
    """Babel's percentage with one decimal, in the locale's own percent sign and digits
    (Babel writes the pattern's '%' and ASCII digits; CLDR gives the locale's)."""
    locale = Locale.parse(language)
    system = locale.default_numbering_system
    pattern = locale.percent_formats[None].pattern.replace("0%", "0.0%")
    text = format_percent(value, pattern, locale=locale, numbering_system="default")
    sign = locale.number_symbols[system]["percentSign"]
    minus = locale.number_symbols[system]["minusSign"]
    text = text.replace("%", sign).replace("-", minus)
    return text.translate(str.maketrans("0123456789", DIGITS[system]))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("value", [0.5236, 0.0, 1.0, 0.0005, -0.0523, 0.12345])
def test_a_rate_is_babel_s_percentage_with_one_decimal_in_each_language(
    language: str, value: float
) -> None:
    assert Words(language).percent(value) == _babel_rate(value, language)


def test_a_persian_rate_has_persian_digits_separator_and_percent_sign() -> None:
    assert Words("fa").percent(0.5236) == "۵۲٫۴٪"
    assert Words("en").percent(0.5236) == "52.4%"
    assert Words("zh").percent(0.5236) == "52.4%"
    assert Words("fa").percent(None) == "–"


def test_the_persian_page_writes_rates_and_the_counts_beside_them_in_persian_digits() -> None:
    page = to_html(_report(), locale="fa")
    assert "۶۶٫۷٪ (۲ ÷ ۳)" in page  # the annual churn with its counts
    assert "۱۰۰٫۰٪ ((۵ − ۱) ÷ ۴)" in page  # textbook retention
    assert "۲۵٫۰٪ (۱ ÷ ۴)" in page  # textbook churn
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", " ", page, flags=re.S))
    assert not re.search(r"\d+(\.\d)? ?%", text)


def test_the_english_page_writes_rates_as_cldr_does() -> None:
    page = to_html(_report())
    assert "66.7% (2 ÷ 3)" in page
    assert not re.search(r"\d\.\d %", page)


def test_persian_days_are_solar_hijri_as_jdatetime_converts_them() -> None:
    words = Words("fa")
    days = [date(2026, month, 1) for month in range(1, 13)]  # each Gregorian month's first
    days += [jdatetime.date(1405, month, 1).togregorian() for month in range(1, 13)]
    days += [date(2025, 3, 20), date(2025, 3, 21), date(2024, 12, 31), date(2025, 1, 1)]
    for day in days:
        solar = jdatetime.date.fromgregorian(date=day)
        month = jdatetime.date.j_months_fa[solar.month - 1]
        expected = f"{solar.day} {month} {solar.year}".translate(PERSIAN)
        assert words.day(day.isoformat()) == unit(expected), day


def test_nowruz_and_the_last_day_of_a_leap_year_in_persian() -> None:
    words = Words("fa")
    assert words.day("2025-03-21") == unit("۱ فروردین ۱۴۰۴")  # Nowruz 1404
    assert words.day("2025-03-20") == unit("۳۰ اسفند ۱۴۰۳")  # 1403 is a leap year
    assert words.day("2026-03-20") == unit("۲۹ اسفند ۱۴۰۴")
    assert words.day("2026-11-26") == unit("۵ آذر ۱۴۰۵")


@pytest.mark.parametrize("language", ["en", "zh", "zh_Hant", "ar"])
def test_other_languages_write_gregorian_days_and_months_in_their_cldr_formats(
    language: str,
) -> None:
    words = Words(language)
    day = date(2026, 11, 26)
    digits = str.maketrans("0123456789", DIGITS[Locale.parse(language).default_numbering_system])
    shown = unit if language == "ar" else str
    assert words.day("2026-11-26") == shown(
        format_skeleton("yMMMd", day, locale=language).translate(digits)
    )
    assert words.month("2026-11") == shown(
        format_skeleton("yMMM", day, locale=language).translate(digits)
    )
    assert Words("en").day("2026-11-26") == "Nov 26, 2026"
    assert Words("zh").month("2026-11") == "2026年11月"


def test_a_persian_month_is_the_solar_hijri_days_it_spans() -> None:
    """The figures group by Gregorian (UTC) month, which no Solar Hijri month matches:
    the label says which Solar Hijri days the month covers."""
    words = Words("fa")
    for month in range(1, 13):
        first = date(2026, month, 1)
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        start, end = (jdatetime.date.fromgregorian(date=d) for d in (first, last))
        names = jdatetime.date.j_months_fa
        head = f"{start.day} {names[start.month - 1]}"
        if start.year != end.year:
            head += f" {start.year}"
        expected = f"{head} تا {end.day} {names[end.month - 1]} {end.year}".translate(PERSIAN)
        assert words.month(first.isoformat()[:7]) == unit(expected), month
    assert words.month("2026-11") == unit("۱۰ آبان تا ۹ آذر ۱۴۰۵")
    assert words.month("2027-03") == unit("۱۰ اسفند ۱۴۰۵ تا ۱۱ فروردین ۱۴۰۶")


def test_the_persian_page_shows_solar_hijri_dates_and_keeps_iso_in_attributes() -> None:
    page = to_html(_report(), locale="fa")
    title = re.search(r"<h1[^>]*>([^<]*)</h1>", page)
    day = unit("۵ آذر ۱۴۰۵")
    assert title is not None and title.group(1) == f"گزارش Rapport، {day} تا {day}"
    assert 'data-from="2026-11-26" data-to="2026-11-26"' in page
    sends = re.search(r'data-chart="sends".*?</figure>', page, re.S)
    assert sends is not None
    assert '<rect class="bar" data-channel="email" data-day="2026-11-26"' in sends.group()
    assert f">{day}</text>" in sends.group()  # the x axis's tick
    assert f"<title>{day} ایمیل: ۱٬۲۳۴</title>" in sends.group()
    cohorts = re.search(r'data-chart="cohorts".*?</figure>', page, re.S)
    assert cohorts is not None
    assert 'data-cohort="2026-11" data-month="2026-11"' in cohorts.group()
    month = unit("۱۰ آبان تا ۹ آذر ۱۴۰۵")
    assert f">{month}</text>" in cohorts.group()
    assert ">۶۷٪</text>" in cohorts.group() and ">+۰</text>" in cohorts.group()
    assert f'<time datetime="2026-11">{month}</time>' in page  # consent month
    shown = re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", " ", page, flags=re.S))
    assert not re.search(r"\d{4}-\d\d", shown)  # no ISO date a person reads


def test_the_nps_is_in_the_page_s_digits() -> None:
    assert ">۱۲٫۵</td>" in to_html(_report(), locale="fa")
    assert ">12.5</td>" in to_html(_report())


def _report() -> dict[str, Any]:
    answered = {"answers": 8, "promoters": 3, "passives": 4, "detractors": 1, "nps": 12.5}
    return {
        "period": {"from": "2026-11-26", "to": "2026-11-26"},
        "base_currency": "USD",
        "attribution_window_days": 7,
        "customers": {
            "retention_rate": 0.25,
            "churn_rate": 0.75,
            "repeat_purchase_rate": None,
            "ordering_customers": 5,
            "orders": 6,
            "revenue": 120.0,
            "clv_historical": 40.0,
            "clv_predictive": None,
            "textbook": {
                "customers_at_start": 4,
                "customers_at_end": 5,
                "new_customers": 1,
                "lost_customers": 1,
                "retention_rate": 1.0,
                "churn_rate": 0.25,
            },
            "clv_inputs": {
                "annual_churn": 2 / 3,
                "annual_churn_lost_customers": 2,
                "annual_churn_customers_at_start": 3,
            },
        },
        "cohorts": [
            {
                "cohort": "2026-11",
                "size": 3,
                "months": [{"month": "2026-11", "customers": 2, "rate": 2 / 3}],
            }
        ],
        "distribution": {"stages": {"prospect": 3}, "tiers": {}, "segments": {}},
        "campaigns": [],
        "sends_per_day": [{"day": "2026-11-26", "channel": "email", "sent": 1234}],
        "consent": [
            {
                "month": "2026-11",
                "channel": "email",
                "topic": "news",
                "opt_ins": 3,
                "opt_outs": 1,
                "opt_out_share": 0.25,
            }
        ],
        "feedback": {
            "overall": answered,
            "by_campaign": {},
            "by_stage": {},
            "by_tier": {},
            "comments": [],
        },
    }
