"""What a template's locale prints: Babel's filters bound to it, formats remembered
per locale (and equal to fresh ones), Solar Hijri dates, and names in the locale's order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from babel import Locale

from rapport.engine.rendering import formats as locale_formats
from rapport.engine.rendering.formats import LocaleFormats, solar_hijri
from rapport.engine.rendering.locales import full_name
from rapport.engine.rendering.renderer import Renderer

# --------------------------------------------------------------------------- babel filters


def test_filters_are_bound_to_the_template_locale(make: Callable[..., Renderer]) -> None:
    renderer = make({})
    day = date(2025, 3, 21)
    moment = datetime(2025, 3, 21, 6, 0, tzinfo=UTC)

    en = renderer.environment("en").filters
    assert en["format_date"](day) == "March 21, 2025"
    assert en["format_currency"](Decimal("486.5"), "USD") == "$486.50"
    assert en["format_percent"](0.15) == "15%"
    assert en["format_number"](1234567) == "1,234,567"
    assert en["format_datetime"](moment, "short", "America/New_York") == "3/21/25, 2:00\u202fAM"

    fa = renderer.environment("fa").filters
    assert fa["format_date"](day) == "۱ فروردین ۱۴۰۴"
    assert fa["format_date"](day, "full") == "جمعه ۱ فروردین ۱۴۰۴"
    assert fa["format_date"](day, "short") == "۱۴۰۴/۱/۱"
    assert fa["format_date"](day, "d MMMM y") == "۱ فروردین ۱۴۰۴"  # a pattern too is Solar Hijri
    assert fa["format_date"](day, "d MMMM y", calendar="gregorian") == "۲۱ مارس ۲۰۲۵"
    assert fa["format_percent"](0.15) == "۱۵٪"
    assert fa["format_number"](1234567) == "۱٬۲۳۴٬۵۶۷"
    assert fa["format_datetime"](moment, "short", "Asia/Tehran") == "۱۴۰۴/۱/۱،\u200f ۹:۳۰"

    zh = renderer.environment("zh").filters
    assert zh["format_date"](day) == "2025年3月21日"
    assert zh["format_currency"](Decimal("3280"), "CNY") == "¥3,280.00"


@pytest.mark.parametrize("locale", ["en", "fa", "zh_Hant_TW", "ar_EG"])
def test_remembered_formats_equal_fresh_ones_for_every_value_type(locale: str) -> None:
    # Equal values of different types (or signs) may print differently; none may share.
    values: list[Any] = [
        1, True, 1.0, Decimal("1"), Decimal("1.000"), 0, Decimal("0"), Decimal("-0"),
        0.0, -0.0, Decimal("1234.5"), 1234.5, -3, Decimal("0.155"),
    ]  # fmt: skip
    days = [date(2025, 3, 21), datetime(2025, 3, 21, 23, 30, tzinfo=UTC), date(2026, 1, 1)]
    calls: list[tuple[str, tuple[Any, ...]]] = []
    for value in values:
        calls += [("format_decimal", (value,)), ("format_percent", (value,))]
        calls += [("format_currency", (value, "USD")), ("format_currency", (value, "EUR"))]
        calls += [("format_timedelta", (value,))]
    for day in days:
        calls += [("format_date", (day,)), ("format_date", (day, "short"))]
    calls += [("relative", (date(2025, 3, 1), date(2025, 3, 21))), ("format_timedelta", (0,))]
    warm = LocaleFormats(Locale.parse(locale))
    for _ in range(2):
        for method, args in calls + calls[::-1]:
            fresh = outcome(getattr(LocaleFormats(Locale.parse(locale)), method), *args)
            assert outcome(getattr(warm, method), *args) == fresh, (method, args)


def outcome(call: Callable[..., str], *args: Any) -> tuple[str, object]:
    """What a formatting call gives: its text, or the kind of error it raises."""
    try:
        return "text", call(*args)
    except Exception as exc:
        return "error", type(exc)


def test_remembered_formats_stay_bounded() -> None:
    formats = LocaleFormats(Locale.parse("en"))
    for number in range(locale_formats._MEMO_SIZE * 2 + 5):
        assert formats.format_decimal(number) == f"{number:,}"
    assert 0 < len(formats._memo) <= locale_formats._MEMO_SIZE
    moment = datetime(2025, 3, 21, 6, 0, tzinfo=UTC)
    formats.format_datetime(moment)  # equal datetimes in other zones print differently
    assert len(formats._memo) <= locale_formats._MEMO_SIZE


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 3, 21), (1404, 1, 1)),
        (date(2025, 3, 20), (1403, 12, 30)),  # 1403 is a leap year
        (date(2025, 9, 6), (1404, 6, 15)),
        (date(2025, 9, 23), (1404, 7, 1)),
        (date(2025, 12, 25), (1404, 10, 4)),
        (date(2026, 3, 21), (1405, 1, 1)),
    ],
)
def test_solar_hijri(day: date, expected: tuple[int, int, int]) -> None:
    assert solar_hijri(day) == expected


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("first", "last", "locale", "expected"),
    [
        ("伟", "王", "zh", "王伟"),
        ("伟", "王", "zh_TW", "王伟"),
        ("Alex", "Morgan", "zh", "Alex Morgan"),
        ("سارا", "احمدی", "fa_IR", "سارا احمدی"),
        ("Alex", "Morgan", "en", "Alex Morgan"),
        (" Alex ", "", "en", "Alex"),
        ("", "王", "zh", "王"),
        ("Alex", "  ", "en", "Alex"),
        ("", "", "zh", ""),
    ],
)
def test_full_name(first: str, last: str, locale: str, expected: str) -> None:
    assert full_name(first, last, locale) == expected


# ------------------------------------------------------------------ mistakes in templates


@pytest.mark.parametrize(
    ("method", "value", "needs"),
    [
        ("format_date", "Alex", "format_date needs a date, not str"),
        ("format_date", 5, "format_date needs a date, not int"),
        ("format_datetime", "Alex", "format_datetime needs a date or datetime, not str"),
        ("format_decimal", "abc", "format_number needs a number, not str"),
        ("format_percent", "abc", "format_percent needs a number, not str"),
        ("format_timedelta", "abc", "format_timedelta needs a timedelta or seconds, not str"),
        ("relative", "abc", "relative needs a date, datetime or timedelta, not str"),
    ],
)
def test_a_filter_given_the_wrong_kind_of_value_says_what_it_needs(
    method: str, value: Any, needs: str
) -> None:
    """``{{ customer.first_name | format_date }}`` failed with 'AssertionError:
    AssertionError' from deep inside Babel, ``{{ "abc" | format_number }}`` with
    "InvalidOperation: [<class 'decimal.ConversionSyntax'>]": the marketer reads what
    the filter needs instead (never the value, which may be personal data)."""
    formats = LocaleFormats(Locale.parse("en_US"))
    with pytest.raises(TypeError) as raised:
        getattr(formats, method)(value)
    assert str(raised.value) == needs


def test_a_currency_code_babel_does_not_know_is_refused() -> None:
    """``format_currency("usd")`` printed 'usd5.00' and ``"UDS"`` 'UDS5.00', silently."""
    formats = LocaleFormats(Locale.parse("en_US"))
    with pytest.raises(ValueError) as raised:
        formats.format_currency(5, "usd")
    assert str(raised.value) == (
        "format_currency: 'usd' is not an ISO 4217 currency code in capitals "
        "(e.g. USD, EUR, IRR); did you mean 'USD'?"
    )
    with pytest.raises(ValueError, match="'UDS' is not an ISO 4217"):
        formats.format_currency(5, "UDS")
    assert formats.format_currency(5, "USD") == "$5.00"
