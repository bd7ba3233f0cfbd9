"""Calendar triggers are pure: birthday, anniversary, holiday and recurring (cron).

Each test asks ``find_occasion`` one question about one day (or parses one cron
expression). The triggers that follow orders are tested in ``test_order_triggers.py``;
the helpers both use are in ``conftest.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from rapport.engine.triggers import Miss, find_occasion
from rapport.engine.triggers.cron import parse_cron
from tests.engine.triggers.conftest import HEADER, campaign, customer, load_problems, miss, occasion

# birthday


def test_birthday_on_the_day_is_keyed_by_year_and_knows_the_age() -> None:
    found = occasion({"type": "birthday"}, customer(), date(2027, 3, 21))
    assert (found.key, found.date, found.years) == ("birthday:2027", date(2027, 3, 21), 37)


def test_birthday_days_before_sends_ahead_about_the_birthday() -> None:
    found = occasion({"type": "birthday", "days_before": 3}, customer(), date(2027, 3, 18))
    assert found.date == date(2027, 3, 21)


def test_birthday_days_after_sends_late_about_the_birthday() -> None:
    found = occasion({"type": "birthday", "days_after": 2}, customer(), date(2027, 3, 23))
    assert (found.key, found.date) == ("birthday:2027", date(2027, 3, 21))


def test_birthday_days_after_across_new_year_keeps_the_birthdays_year() -> None:
    person = customer(birthday=date(1990, 12, 31))
    found = occasion({"type": "birthday", "days_after": 2}, person, date(2028, 1, 2))
    assert found.key == "birthday:2027"


def test_birthday_days_before_and_after_together_are_refused() -> None:
    with pytest.raises(ValidationError, match="not both"):
        campaign({"type": "birthday", "days_before": 1, "days_after": 1})


def test_leap_day_birthday_is_celebrated_on_28_february_in_common_years() -> None:
    person = customer(birthday=date(2000, 2, 29))
    assert occasion({"type": "birthday"}, person, date(2027, 2, 28)).key == "birthday:2027"


def test_leap_day_birthday_is_29_february_in_leap_years() -> None:
    person = customer(birthday=date(2000, 2, 29))
    assert isinstance(
        find_occasion(campaign({"type": "birthday"}), person, date(2028, 2, 28)), Miss
    )
    assert occasion({"type": "birthday"}, person, date(2028, 2, 29)).key == "birthday:2028"


def test_no_birthday_on_file_is_no_occasion_and_says_so() -> None:
    found = miss({"type": "birthday"}, customer(birthday=None), date(2027, 3, 21))
    assert (found.code, found.detail) == ("no_occasion", "no birthday on file")


# anniversary


def test_anniversary_is_the_sign_up_date_in_the_customers_zone() -> None:
    late_evening_utc = datetime(2024, 6, 1, 22, tzinfo=UTC)  # 2 June 01:30 in Tehran
    person = customer(created_at=late_evening_utc)
    found = occasion({"type": "anniversary"}, person, date(2026, 6, 2))
    assert (found.key, found.years) == ("anniversary:2026", 2)


def test_anniversary_years_filter_skips_other_anniversaries() -> None:
    found = miss({"type": "anniversary", "years": [1, 5]}, customer(), date(2026, 6, 1))
    assert "2-year" in found.detail


def test_sign_up_day_itself_is_not_an_anniversary() -> None:
    miss({"type": "anniversary"}, customer(), date(2024, 6, 1))


def test_leap_day_sign_up_has_its_anniversary_on_28_february() -> None:
    person = customer(created_at=datetime(2024, 2, 29, 8, tzinfo=UTC))
    assert occasion({"type": "anniversary"}, person, date(2025, 2, 28)).years == 1


def test_no_sign_up_date_is_no_anniversary() -> None:
    assert miss({"type": "anniversary"}, customer(created_at=None), date(2026, 6, 1)).detail


# holiday

IRANIAN = customer()
CHINESE = customer(locale="zh_CN", timezone="Asia/Shanghai", country="CN")


def test_nowruz_for_an_iranian_customer_in_english() -> None:
    found = occasion({"type": "holiday", "names": ["Nowruz"]}, IRANIAN, date(2027, 3, 21))
    assert (found.name, found.key) == ("Nowruz", "holiday:Nowruz:2027-03-21")


def test_nowruz_holidays_after_the_first_day_send_nothing_more() -> None:
    for day in (date(2027, 3, 22), date(2027, 3, 23), date(2027, 3, 24)):
        assert "continues" in miss({"type": "holiday", "names": ["nowruz"]}, IRANIAN, day).detail


def test_spring_festival_for_a_chinese_customer_on_its_first_day_only() -> None:
    trigger = {"type": "holiday", "names": ["Spring Festival"]}
    found = occasion(trigger, CHINESE, date(2027, 2, 6))
    assert found.key == "holiday:Chinese New Year (Spring Festival):2027-02-06"
    later = [date(2027, 2, 6) + timedelta(days=n) for n in range(1, 5)]
    assert all(isinstance(find_occasion(campaign(trigger), CHINESE, d), Miss) for d in later)


def test_every_holiday_campaign_also_sends_once_for_a_multi_day_holiday() -> None:
    assert occasion({"type": "holiday"}, IRANIAN, date(2027, 3, 21)).name == "Nowruz"
    assert miss({"type": "holiday"}, IRANIAN, date(2027, 3, 22)).detail.startswith(
        "Nowruz Holiday continues a holiday"
    )


def test_days_off_observed_in_lieu_are_not_occasions() -> None:
    american = customer(country="US", timezone="America/New_York", locale="en_US")
    trigger = {"type": "holiday", "names": ["Independence Day"]}
    miss(trigger, american, date(2026, 7, 3))  # Friday off for Saturday 4 July
    assert occasion(trigger, american, date(2026, 7, 4)).date == date(2026, 7, 4)


def test_holiday_days_before_sends_ahead_about_the_holiday() -> None:
    found = occasion(
        {"type": "holiday", "names": ["Nowruz"], "days_before": 3}, IRANIAN, date(2027, 3, 18)
    )
    assert found.date == date(2027, 3, 21)


def test_adjacent_holidays_are_one_occasion_on_the_first_wanted_day() -> None:
    # 29 Esfand (Oil Nationalization Day, an observance) runs into Nowruz: a campaign
    # for celebrations greets Nowruz; one that also wants observances sends on the
    # first day of the run, and Nowruz continues it.
    assert miss({"type": "holiday"}, IRANIAN, date(2027, 3, 20)).detail.endswith(
        "is a day of observance, not celebration"
    )
    assert occasion({"type": "holiday"}, IRANIAN, date(2027, 3, 21)).name == "Nowruz"
    both = {"type": "holiday", "tones": ["celebration", "observance"]}
    assert occasion(both, IRANIAN, date(2027, 3, 20)).tone == "observance"
    assert "continues a holiday" in miss(both, IRANIAN, date(2027, 3, 21)).detail


def test_estimated_holiday_names_lose_the_estimated_label() -> None:
    found = occasion({"type": "holiday", "names": ["Eid al-Fitr"]}, IRANIAN, date(2027, 3, 10))
    assert found.name == "Eid al-Fitr"


def test_holiday_categories_select_other_kinds_of_holiday() -> None:
    womens_day = date(2027, 3, 8)  # a half day off in China, not a public holiday
    miss({"type": "holiday"}, CHINESE, womens_day)
    found = occasion({"type": "holiday", "categories": ["half_day"]}, CHINESE, womens_day)
    assert found.name == "International Women's Day"


def test_a_category_the_country_lacks_is_no_occasion_and_says_so() -> None:
    found = miss({"type": "holiday", "categories": ["bank"]}, IRANIAN, date(2027, 3, 21))
    assert "only public" in found.detail


def test_unknown_holiday_category_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown holiday category 'publik'"):
        campaign({"type": "holiday", "categories": ["publik"]})


def test_a_holiday_name_no_calendar_has_is_reported_at_its_line(tmp_path: Path) -> None:
    text = "trigger:\n  type: holiday\n  names: [Nowruz, Nowrus]\naudience:\n  countries: [IR]\n"
    problems = load_problems(tmp_path, HEADER + text)
    assert problems == [
        "t.yaml:6: trigger.names.1: no holiday in the calendars of IR (public) has 'Nowrus' "
        "in its English name"
    ]


@pytest.mark.parametrize(
    ("written", "countries", "english"),
    [
        ("نوروز", "[IR]", "'Nowruz'"),
        ("春节", "[CN]", "'Chinese New Year (Spring Festival)'"),
        ("清明节", "[CN, TW]", "'Tomb-Sweeping Day'"),
    ],
)
def test_a_holiday_named_in_its_own_language_is_refused_with_its_english_name(
    tmp_path: Path, written: str, countries: str, english: str
) -> None:
    """``names`` matches English names; a Persian or Chinese marketer writes the name
    they greet with, and is told the English name the calendars give it."""
    text = f"trigger:\n  type: holiday\n  names: [{written}]\naudience:\n  countries: {countries}\n"
    (problem,) = load_problems(tmp_path, HEADER + text)
    assert problem.startswith("t.yaml:6: trigger.names.0: no holiday in the calendars of ")
    assert problem.endswith(
        f"has {written!r} in its English name; names are English: write {english}"
    )


def test_holiday_names_are_checked_against_every_calendar_without_countries(
    tmp_path: Path,
) -> None:
    text = "trigger:\n  type: holiday\n  names: [Spring Festival, Xmas]\n"
    problems = load_problems(tmp_path, HEADER + text)
    assert len(problems) == 1 and problems[0].startswith("t.yaml:6: trigger.names.1")


@pytest.mark.parametrize("country", [None, "XX"])
def test_no_calendar_for_the_country(country: str | None) -> None:
    assert miss({"type": "holiday"}, customer(country=country), date(2027, 3, 21)).code == (
        "no_calendar"
    )


# recurring and cron


def test_recurring_monthly_on_the_first() -> None:
    found = occasion({"type": "recurring", "cron": "0 10 1 * *"}, customer(), date(2027, 3, 1))
    assert found.key == "recurring:2027-03-01"
    miss({"type": "recurring", "cron": "0 10 1 * *"}, customer(), date(2027, 3, 2))


@pytest.mark.parametrize("weekday", ["0", "7", "sun", "SUN"])
def test_cron_weekday_zero_and_seven_are_sunday(weekday: str) -> None:
    assert parse_cron(f"0 9 * * {weekday}").matches(date(2027, 3, 7))  # a Sunday
    assert not parse_cron(f"0 9 * * {weekday}").matches(date(2027, 3, 8))


def test_cron_day_of_month_or_weekday_when_both_are_restricted() -> None:
    schedule = parse_cron("0 9 13 * fri")
    assert schedule.matches(date(2027, 3, 13))  # a Saturday, the 13th
    assert schedule.matches(date(2027, 3, 12))  # a Friday


def test_cron_ranges_lists_and_names() -> None:
    schedule = parse_cron("0 9 1,15 jan,mar-apr mon-fri")
    assert schedule.matches(date(2027, 1, 1))  # the 1st (either day rule)
    assert schedule.matches(date(2027, 4, 5))  # a Monday in April
    assert not schedule.matches(date(2027, 2, 1))  # February is not listed


def test_cron_a_starred_step_leaves_the_day_fields_both_required() -> None:
    schedule = parse_cron("0 9 */15 * mon")  # as in cron: "*/15" counts as "*"
    assert schedule.days_of_month == {1, 16, 31}
    assert schedule.matches(date(2027, 3, 1))  # Monday the 1st
    assert not schedule.matches(date(2027, 3, 8))  # Monday the 8th


def test_cron_macros() -> None:
    assert parse_cron("@monthly").matches(date(2027, 5, 1))
    assert parse_cron("@yearly").matches(date(2027, 1, 1))
    assert not parse_cron("@weekly").matches(date(2027, 3, 8))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 10 1 *", "5 fields"),
        ("0 10 32 * *", "day-of-month: 32 is outside 1-31"),
        ("0 25 1 * *", "hour: 25 is outside 0-23"),
        ("0 10 1 foo *", "month: 'foo' is not a number or name"),
        ("0 10 1 * mon-", "needs a start and an end"),
        ("0 10 */0 * *", "step"),
    ],
)
def test_invalid_cron_is_refused_with_the_field(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cron(expression)


def test_invalid_cron_in_a_campaign_file_is_reported_at_its_line(tmp_path: Path) -> None:
    problems = load_problems(
        tmp_path, HEADER + 'trigger:\n  type: recurring\n  cron: "0 10 32 * *"\n'
    )
    assert len(problems) == 1 and problems[0].startswith("t.yaml:6: trigger")
    assert "day-of-month: 32 is outside 1-31" in problems[0]


def test_unknown_trigger_type_is_reported_at_its_line(tmp_path: Path) -> None:
    problems = load_problems(tmp_path, HEADER + "trigger:\n  type: payday\n")
    assert len(problems) == 1 and problems[0].startswith("t.yaml:5: trigger.type: 'payday'")
