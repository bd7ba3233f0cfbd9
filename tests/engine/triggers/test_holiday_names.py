"""Holiday names in the customer's language are written as that language writes them
(issue 17, point 3): checked for every Iranian and Chinese holiday of 2026-2028, in
every category, as templates receive them (``occasion.name``).
"""

from __future__ import annotations

import re
from datetime import date

import holidays
import pytest

from rapport.engine.triggers.calendars import celebrated_on, holiday_name
from rapport.engine.triggers.names import join_names, polish
from rapport.engine.triggers.tones import is_substitute

YEARS = (2026, 2027, 2028)
LATIN_DIGIT = re.compile(r"[0-9]")
ARABIC_INDIC_DIGIT = re.compile(r"[٠-٩]")
PERSIAN_DIGIT = re.compile(r"[۰-۹]")
CJK = r"\u3400-\u4dbf\u4e00-\u9fff"


def names_as_templates_get_them(country: str, locale: str) -> list[tuple[date, str, str]]:
    """(day, English name, localized name) for every holiday of the years."""
    categories = sorted(holidays.country_holidays(country).supported_categories)
    found = []
    for year in YEARS:
        for day in sorted(holidays.country_holidays(country, years=year, categories=categories)):
            for english in celebrated_on(country, day, categories):
                if is_substitute(english):
                    continue
                local = holiday_name(country, day, locale, english=english)
                assert local is not None, (day, english)
                found.append((day, english, local))
    return found


IRANIAN = names_as_templates_get_them("IR", "fa_IR")
CHINESE = names_as_templates_get_them("CN", "zh_CN")


def test_every_iranian_and_chinese_holiday_is_checked() -> None:
    assert len(IRANIAN) > 60 and len(CHINESE) > 40
    assert {english for _, english, _ in CHINESE} >= {"Tomb-Sweeping Day", "Youth Day"}


@pytest.mark.parametrize(("day", "english", "name"), IRANIAN, ids=lambda v: str(v))
def test_persian_holiday_names_read_as_persian(day: date, english: str, name: str) -> None:
    assert not LATIN_DIGIT.search(name) and not ARABIC_INDIC_DIGIT.search(name)
    assert "عیدنوروز" not in name
    assert "ي" not in name and "ك" not in name
    assert "  " not in name and name == name.strip()
    for match in re.finditer("[؛،]", name):
        before, after = name[match.start() - 1], name[match.end() : match.end() + 1]
        assert before != " " and after == " ", name
    assert "تخمینی" not in name and not re.search(r"[A-Za-z]", name), name


@pytest.mark.parametrize(("day", "english", "name"), CHINESE, ids=lambda v: str(v))
def test_chinese_holiday_names_read_as_chinese(day: date, english: str, name: str) -> None:
    assert not re.search(rf"(?<=[{CJK}])\s+(?=[{CJK}])", name)
    assert not re.search(r"[A-Za-z]", name), name
    assert "调休" not in name and "估计" not in name
    assert name == name.strip()


def test_the_names_the_issue_found_are_fixed() -> None:
    names = {english: name for _, english, name in IRANIAN}
    assert names["15 Khordad Uprising"] == "قیام ۱۵ خرداد"
    assert names["Nowruz Holiday"] == "عید نوروز"
    assert names["Death of Prophet Muhammad and Martyrdom of Hasan ibn Ali"] == (
        "رحلت رسول اکرم؛ شهادت امام حسن مجتبی علیه السلام"
    )


def test_polish_follows_the_locale() -> None:
    assert polish("قیام 15 خرداد", "fa") == "قیام ۱۵ خرداد"
    assert polish("قیام ١٥ خرداد", "fa_IR") == "قیام ۱۵ خرداد"
    assert polish("رحلت رسول اکرم ;شهادت", "fa") == "رحلت رسول اکرم؛ شهادت"
    assert polish("علي  و كريم", "fa") == "علی و کریم"
    assert polish("农历 除夕", "zh_CN") == "农历除夕"
    assert polish("15 Khordad  Uprising", "en") == "15 Khordad Uprising"


def test_a_day_of_several_holidays_joins_them_as_the_language_does() -> None:
    day = date(2026, 3, 21)  # Nowruz and Eid al-Fitr
    assert holiday_name("IR", day, "fa_IR") == "جشن نوروز؛ عید سعید فطر"
    assert holiday_name("IR", day, "en") == "Eid al-Fitr; Nowruz"
    assert join_names(["元旦", "春节"], "zh") == "元旦；春节"


# -- the customer's script (issue 17, points 3 and 9) ---------------------------------------

SPRING_FESTIVAL = date(2027, 2, 6)


@pytest.mark.parametrize(
    ("country", "locale"),
    [
        ("CN", "zh_Hant"),  # a Traditional reader in mainland China
        ("CN", "zh_HK"),
        ("CN", "zh_Hant_CN"),
        ("HK", "zh_Hant_HK"),  # CLDR's full tag for Hong Kong
        ("MO", "zh_Hant"),
        ("SG", "zh_TW"),  # a calendar with no Chinese names at all: English, not Simplified
    ],
)
def test_a_traditional_chinese_reader_gets_traditional_holiday_names(
    country: str, locale: str
) -> None:
    from tests.engine.core.test_traditional_chinese_catalog import simplified_in

    found = 0
    for year in YEARS:
        for day in sorted(holidays.country_holidays(country, years=year)):
            for english in celebrated_on(country, day):
                name = holiday_name(country, day, locale, english=english)
                assert name is not None and not simplified_in(name), (day, english, name)
                found += bool(re.search(f"[{CJK}]", name))
    assert found or country == "SG"
    if country == "CN":
        name = holiday_name("CN", SPRING_FESTIVAL, locale, "Chinese New Year (Spring Festival)")
        assert name == "春節"


@pytest.mark.parametrize(
    ("country", "locale"), [("TW", "zh"), ("HK", "zh_CN"), ("MO", "zh_Hans_MO"), ("HK", "zh_SG")]
)
def test_a_simplified_chinese_reader_gets_simplified_names_wherever_they_live(
    country: str, locale: str
) -> None:
    (english,) = celebrated_on(country, SPRING_FESTIVAL)
    simplified = holidays.country_holidays(country, years=2027, language="zh_CN")
    assert holiday_name(country, SPRING_FESTIVAL, locale, english=english) == polish(
        simplified[SPRING_FESTIVAL], locale
    )
