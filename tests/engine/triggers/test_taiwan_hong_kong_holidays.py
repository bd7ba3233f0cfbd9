"""Holidays of Taiwan and Hong Kong as a Traditional Chinese reader meets them.

Both calendars name days off after a holiday ("The Day following Mid-Autumn
Festival", "The day following Good Friday", "The first weekday after Christmas
Day"): greeting one by its name ("中秋節翌日快樂！") reads as nonsense, so they are
days off like substituted ones, never occasions. Taiwan's Spring Festival starts with
two days called "Chinese New Year's Eve": the greeting belongs to 春節 itself, as in
mainland China. Hong Kong's 重陽節 is a day for sweeping ancestors' graves (拜山),
like 清明節: no offer. Hong Kong calls 1 January 一月一日; a greeting says 元旦.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rapport.engine.triggers import Occasion, find_occasion
from rapport.engine.triggers.calendars import celebrated_on, holiday_name
from rapport.engine.triggers.tones import TONES, is_substitute, tone_of
from tests.engine.triggers.conftest import SETTINGS, campaign, customer

TAIWANESE = customer(country="TW", locale="zh_TW", timezone="Asia/Taipei")
HONG_KONGER = customer(country="HK", locale="zh_HK", timezone="Asia/Hong_Kong")
CELEBRATIONS = {"type": "holiday"}
EVERY_TONE = {"type": "holiday", "tones": list(TONES), "categories": ["public"]}


def greeted(trigger: dict[str, object], person: object, first: date, days: int) -> list:
    found = []
    for n in range(days):
        day = first + timedelta(days=n)
        hit = find_occasion(campaign(trigger), person, day, SETTINGS)  # type: ignore[arg-type]
        if isinstance(hit, Occasion):
            found.append((day, hit.name))
    return found


@pytest.mark.parametrize(
    "name",
    [
        "The Day following Mid-Autumn Festival",
        "The Second Day following Mid-Autumn Festival",
        "The day following Good Friday",
        "The first weekday after Christmas Day",
        "Day after Eid al-Adha",
        "Day After Good Friday",
    ],
)
def test_a_day_off_named_after_the_holiday_before_it_is_no_holiday_of_its_own(
    name: str,
) -> None:
    assert is_substitute(name)


def test_hong_kong_is_never_wished_a_happy_day_after_mid_autumn() -> None:
    assert "The Day following Mid-Autumn Festival" in celebrated_on("HK", date(2026, 9, 26))
    assert greeted(EVERY_TONE, HONG_KONGER, date(2026, 9, 20), 10) == []


def test_hong_kong_gets_no_offer_on_the_day_after_good_friday() -> None:
    # 2030: Good Friday 19 April, "The day following Good Friday" 20 April.
    assert "The day following Good Friday" in celebrated_on("HK", date(2030, 4, 20))
    assert greeted(CELEBRATIONS, HONG_KONGER, date(2030, 4, 18), 4) == []


def test_taiwan_greets_the_spring_festival_not_its_eves() -> None:
    # 2026: two days called "Chinese New Year's Eve" (15 and 16 February), then 春節.
    assert celebrated_on("TW", date(2026, 2, 15)) == ["Chinese New Year's Eve"]
    assert greeted(CELEBRATIONS, TAIWANESE, date(2026, 2, 10), 14) == [
        (date(2026, 2, 17), "Chinese New Year")
    ]


@pytest.mark.parametrize(
    ("country", "name", "tone"),
    [
        ("TW", "Peace Memorial Day", "observance"),
        ("TW", "Tomb-Sweeping Day", "observance"),
        ("TW", "Mid-Autumn Festival", "celebration"),
        ("HK", "Double Ninth Festival", "observance"),
        ("HK", "Tomb-Sweeping Day", "observance"),
        ("HK", "Good Friday", "observance"),
        ("HK", "Mid-Autumn Festival", "celebration"),
    ],
)
def test_taiwan_and_hong_kong_holidays_have_their_tones(country: str, name: str, tone: str) -> None:
    assert tone_of(country, name) == tone


def test_hong_kong_s_double_ninth_gets_no_offer() -> None:
    assert greeted(CELEBRATIONS, HONG_KONGER, date(2026, 10, 17), 3) == []


def test_new_year_s_day_in_hong_kong_is_called_yuandan_in_a_greeting() -> None:
    for locale, expected in (("zh_HK", "元旦"), ("zh_Hant", "元旦"), ("zh_CN", "元旦")):
        assert holiday_name("HK", date(2026, 1, 1), locale, english="New Year's Day") == expected


@pytest.mark.parametrize(
    ("day", "english"),
    [
        (date(2026, 2, 17), "Chinese New Year"),
        # 2030: the first day falls on a Sunday; Hong Kong's days off start with 年初二.
        (date(2030, 2, 4), "The second day of Chinese New Year"),
    ],
)
def test_hong_kong_s_chinese_new_year_is_greeted_as_the_new_year_not_a_day_count(
    day: date, english: str
) -> None:
    assert holiday_name("HK", day, "zh_HK", english=english) == "農曆新年"
    assert holiday_name("HK", day, "zh_CN", english=english) == "农历新年"
    hit = find_occasion(campaign(CELEBRATIONS), HONG_KONGER, day, SETTINGS)
    assert isinstance(hit, Occasion) and hit.name == english
