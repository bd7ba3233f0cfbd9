"""The cron rules a ``recurring`` campaign follows, one rule a test.

Weekday steps stay in the Sunday-Saturday week, 0 and 7 are one Sunday, ranges may
wrap around a field's end, the day-of-month / day-of-week rule is Vixie cron's, and
what Rapport does not support is refused at campaign load with the file and line.
How all this compares with croniter, expression by expression, is in
``test_cron_croniter.py``.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from rapport.engine.triggers.cron import parse_cron
from tests.engine.triggers.conftest import HEADER, load_problems

MONDAY = date(2027, 3, 1)


def week_fires(expression: str) -> list[str]:
    """The weekdays, Monday first, an expression fires on over two weeks."""
    schedule = parse_cron(expression)
    days = [MONDAY + timedelta(days=n) for n in range(14)]
    return [day.strftime("%a %d") for day in days if schedule.matches(day)]


def test_a_weekday_step_ends_on_saturday_so_sunday_and_monday_are_not_back_to_back() -> None:
    assert week_fires("0 9 * * 1/2") == ["Mon 01", "Wed 03", "Fri 05", "Mon 08", "Wed 10", "Fri 12"]
    assert parse_cron("0 9 * * mon/2").weekdays == {1, 3, 5}


@pytest.mark.parametrize("expression", ["0 9 * * 7/2", "0 9 * * 0/2", "0 9 * * */2"])
def test_a_step_from_sunday_counts_sunday_once(expression: str) -> None:
    assert parse_cron(expression).weekdays == {0, 2, 4, 6}


def test_a_range_written_up_to_7_includes_sunday_as_crontab_does() -> None:
    assert parse_cron("0 9 * * 1-7/2").weekdays == {1, 3, 5, 0}
    assert parse_cron("0 9 * * 0-7").weekdays == set(range(7))
    assert week_fires("0 9 * * 0,7,sun")[:1] == ["Sun 07"]  # one Sunday, fired once


@pytest.mark.parametrize(
    ("expression", "weekdays"),
    [
        ("0 9 * * sat-sun", {6, 0}),
        ("0 9 * * SAT-SUN", {6, 0}),
        ("0 9 * * fri-mon", {5, 6, 0, 1}),
        ("0 9 * * 6-0", {6, 0}),
        ("0 9 * * 7-2", {0, 1, 2}),
        ("0 9 * * thu-mon/2", {4, 6, 1}),
    ],
)
def test_weekday_ranges_wrap_around_the_week(expression: str, weekdays: set[int]) -> None:
    assert parse_cron(expression).weekdays == weekdays


def test_ranges_wrap_around_in_every_field() -> None:
    assert parse_cron("0 22-2 * * *").expression == "0 22-2 * * *"  # hours: valid
    assert parse_cron("0 9 28-3 * *").days_of_month == {28, 29, 30, 31, 1, 2, 3}
    assert parse_cron("0 9 1 nov-feb *").months == {11, 12, 1, 2}
    assert parse_cron("0 9 1 oct-mar/2 *").months == {10, 12, 2}  # the step counts on


def test_an_equal_bounds_range_is_one_value() -> None:
    assert parse_cron("0 9 * * mon-mon").weekdays == {1}
    assert parse_cron("0 9 * * 7-sun").weekdays == {0}


def test_day_of_month_or_weekday_when_neither_starts_with_a_star() -> None:
    schedule = parse_cron("0 9 1-7 * mon")  # not "the first Monday": every 1st-7th and Monday
    assert schedule.matches(date(2027, 3, 2))  # Tuesday the 2nd
    assert schedule.matches(date(2027, 3, 15))  # Monday the 15th


def test_a_day_field_starting_with_a_star_makes_both_required() -> None:
    schedule = parse_cron("0 9 */2 * fri")
    assert schedule.matches(date(2027, 3, 5))  # Friday the 5th
    assert not schedule.matches(date(2027, 3, 12))  # Friday the 12th
    assert not schedule.matches(date(2027, 3, 3))  # Wednesday the 3rd


def test_names_in_any_case_and_midnight_macro() -> None:
    assert parse_cron("0 9 1 Jan,JUL Sun").months == {1, 7}
    assert parse_cron("@MIDNIGHT").matches(MONDAY)


def test_the_29th_of_february_is_accepted_and_fires_in_leap_years() -> None:
    schedule = parse_cron("0 9 29 2 *")
    assert schedule.matches(date(2028, 2, 29))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 9 30 2 *", "no date matches: day-of-month '30' never falls in month '2'"),
        ("0 9 L * *", "day-of-month: 'L' is not supported (L, the last day or weekday"),
        ("0 9 * * 5#2", "day-of-week: '5#2' is not supported (N#K, the K-th weekday"),
        ("0 9 15W * *", "day-of-month: '15W' is not supported (W, the weekday nearest"),
        ("0 9 ? * mon", "day-of-month: '?' is not supported (write '*')"),
        ("H 9 * * *", "minute: 'H' is not supported (H, a hashed value)"),
        ("@hourly", "@hourly is not supported: a recurring campaign fires on dates"),
        ("@every_day", "unknown macro '@every_day'"),
        ("0 9 1 1 * 2030", "got 6 (seconds and years are not supported)"),
        ("0 9 * * 8", "day-of-week: 8 is outside 0-7"),
        ("0 9 * * monday", "day-of-week: 'monday' is not a number or name"),
        ("0 9 1,,2 * *", "day-of-month: empty item"),
        ("0 9 * * 1/0", "day-of-week: step '0' in '1/0' must be a whole number above 0"),
        ("0 9 \u0661 * *", "day-of-month: '\u0661' is not a number"),
    ],
)
def test_what_is_refused_says_why(expression: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_cron(expression)
    assert message in str(refused.value)


def test_an_unsupported_item_in_a_campaign_file_is_reported_at_its_line(tmp_path: Path) -> None:
    problems = load_problems(
        tmp_path, HEADER + 'trigger:\n  type: recurring\n  cron: "0 9 L * *"\n'
    )
    assert len(problems) == 1 and problems[0].startswith("t.yaml:6: trigger")
    assert "day-of-month: 'L' is not supported" in problems[0]
