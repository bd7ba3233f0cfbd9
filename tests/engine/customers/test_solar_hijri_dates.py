"""A date a Persian shop writes in the Solar Hijri calendar (۱۴۰۳-۱۲-۳۰, the last day of
the year 1403) is refused, never converted (docs/import.md), and the refusal says
why: it read only 'is before 1900' or 'is out of range (before 1900-01-01)', which
does not tell an operator whose every date is from this year what is wrong."""

from __future__ import annotations

from datetime import date

import pytest

from rapport.engine.customers import fields
from rapport.engine.customers.fields import FieldInvalid

TODAY = date(2025, 6, 1)


def reason(function: object, value: str, *args: object) -> str:
    with pytest.raises(FieldInvalid) as caught:
        function(value, *args)  # type: ignore[operator]
    return caught.value.reason


@pytest.mark.parametrize("value", ["1403-12-30", "۱۴۰۳-۱۲-۳۰", "1369-01-01"])
def test_a_solar_hijri_birthday_is_refused_saying_the_calendar_is_gregorian(value: str) -> None:
    said = reason(fields.birthday, value, TODAY)
    assert said.startswith("is before 1900")
    assert "Solar Hijri" in said and "Gregorian" in said


@pytest.mark.parametrize("value", ["1403-12-30T10:00:00+03:30", "۱۴۰۳-۰۱-۰۱"])
def test_a_solar_hijri_date_time_is_refused_saying_the_calendar_is_gregorian(value: str) -> None:
    said = reason(fields.iso_datetime, value, "ordered_at")
    assert said.startswith("is out of range (before 1900-01-01)")
    assert "Solar Hijri" in said and "Gregorian" in said


def test_an_older_date_is_only_before_1900() -> None:
    assert reason(fields.birthday, "1850-03-21", TODAY) == "is before 1900"
    said = reason(fields.iso_datetime, "1850-03-21", "ordered_at")
    assert said == "is out of range (before 1900-01-01)"


@pytest.mark.parametrize("value", ["1403-06-31", "۱۴۰۳-۰۲-۳۱", "1403-02-29"])
def test_a_solar_hijri_day_no_gregorian_month_has_is_refused_saying_the_calendar_is_gregorian(
    value: str,
) -> None:
    said = reason(fields.birthday, value, TODAY)
    assert said.startswith("not a real calendar date")
    assert "Solar Hijri" in said and "Gregorian" in said


def test_a_solar_hijri_date_time_no_gregorian_month_has_says_the_calendar_is_gregorian() -> None:
    said = reason(fields.iso_datetime, "1403-06-31T10:00:00+03:30", "ordered_at")
    assert said.startswith("not a real date-time")
    assert "Solar Hijri" in said and "Gregorian" in said


def test_a_gregorian_day_no_month_has_is_only_not_a_real_calendar_date() -> None:
    assert reason(fields.birthday, "1990-02-30", TODAY) == "not a real calendar date"
    assert reason(fields.iso_datetime, "1990-02-30", "ordered_at") == "not a real date-time"
