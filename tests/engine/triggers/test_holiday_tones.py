"""Holiday tones (issue 17, point 1): the shipped tone files are complete for the
holidays package as installed, Iran's days of mourning and China's Qingming have the
tone their people give them, a mourning day never gets an offer, and substituted rest
days are never occasions.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import holidays
import pytest

from rapport.engine.campaigns.model import load_campaign
from rapport.engine.triggers import Occasion, find_occasion
from rapport.engine.triggers.calendars import celebrated_on
from rapport.engine.triggers.tones import (
    TONES,
    guess_tone,
    is_eve,
    is_substitute,
    shipped_countries,
    tone_of,
    tone_table,
)
from tests.engine.triggers.conftest import (
    HEADER,
    SETTINGS,
    campaign,
    customer,
    load_problems,
    miss,
    occasion,
)

#: The countries the issue names, and Taiwan and Hong Kong (Traditional Chinese
#: readers); each must have a file.
COUNTRIES = ("IR", "CN", "US", "GB", "DE", "FR", "IN", "SA", "TR", "JP", "TW", "HK")
YEARS = range(2024, 2031)
_ESTIMATED = re.compile(r"\s*\(estimated\)$")


@cache
def package_names(country: str) -> dict[str, set[str]]:
    """Every English holiday name of the country, 2024-2030, every category, with the
    categories it appears under; substituted rest days left out."""
    found: dict[str, set[str]] = {}
    for category in holidays.country_holidays(country).supported_categories:
        calendar = holidays.country_holidays(
            country, years=YEARS, categories=(category,), observed=False, language="en_US"
        )
        for names in calendar.values():
            for name in names.split("; "):
                name = _ESTIMATED.sub("", name)
                if not is_substitute(name):
                    found.setdefault(name, set()).add(category)
    return found


def test_every_named_country_has_a_tone_file() -> None:
    assert set(COUNTRIES) <= set(shipped_countries())


@pytest.mark.parametrize("country", COUNTRIES)
def test_every_holiday_name_of_2024_to_2030_has_a_tone_in_the_file(country: str) -> None:
    table = tone_table(country)
    assert table is not None
    missing = sorted(set(package_names(country)) - set(table))
    assert not missing, (
        f"engine/triggers/tones/{country}.yaml lacks {missing}: give each a tone "
        "(celebration, observance or mourning) and its categories"
    )


@pytest.mark.parametrize("country", COUNTRIES)
def test_the_files_list_the_package_categories_of_each_holiday(country: str) -> None:
    table = tone_table(country)
    assert table is not None
    for name, categories in package_names(country).items():
        assert set(table[name].categories) == categories, (country, name)


def test_iran_keeps_its_days_of_mourning() -> None:
    table = tone_table("IR")
    assert table is not None
    mourning = {name for name, entry in table.items() if entry.tone == "mourning"}
    assert {
        "Tasua",
        "Ashura",
        "Arbaeen",
        "Death of Imam Khomeini",
        "Death of Prophet Muhammad and Martyrdom of Hasan ibn Ali",
        "Martyrdom of Imam Ali",
        "Martyrdom of Fatima",
        "Martyrdom of Ali al-Rida",
        "Martyrdom of Hasan al-Askari",
        "Martyrdom of Imam Ja'far al-Sadiq",
    } <= mourning
    # Every martyrdom (شهادت) or death (رحلت, وفات) in the calendar, and nothing festive.
    for name in table:
        if re.search(r"Martyrdom|Death", name):
            assert name in mourning, name
    assert {"Nowruz", "Eid al-Fitr", "Birthday of Imam Ali"}.isdisjoint(mourning)


def test_remembrance_days_are_observances_not_celebrations() -> None:
    assert tone_of("CN", "Tomb-Sweeping Day") == "observance"
    assert tone_of("US", "Memorial Day") == "observance"
    assert tone_of("US", "Veterans Day") == "observance"
    assert tone_of("FR", "Armistice Day") == "observance"
    assert tone_of("DE", "Good Friday") == "observance"
    assert tone_of("IR", "15 Khordad Uprising") == "observance"


def test_eves_are_marked() -> None:
    assert is_eve("CN", "Chinese New Year's Eve")
    assert not is_eve("CN", "Chinese New Year (Spring Festival)")


def test_names_no_file_lists_are_guessed_from_their_english() -> None:
    assert guess_tone("Martyrdom of Someone") == "mourning"
    assert guess_tone("National Day of Mourning") == "mourning"
    assert guess_tone("Remembrance Day") == "observance"
    assert guess_tone("Liberation Day") == "celebration"
    assert tone_of("XX", "Memorial Day") == "observance"
    assert set(TONES) == {"celebration", "observance", "mourning"}


@pytest.mark.parametrize(
    ("country", "name", "tone"),
    [
        ("IL", "Tisha B'Av", "mourning"),  # the fast for the destroyed Temples
        ("LB", "Anniversary of the tragedy of Beirut port explosion", "mourning"),
        ("AM", "Day of the Condemnation and Prevention of Genocides", "observance"),
        ("HT", "Day of the Dead", "observance"),  # Fèt Gede, with All Souls' Day
    ],
)
def test_days_of_grief_of_countries_without_a_tone_file_are_no_celebrations(
    country: str, name: str, tone: str
) -> None:
    assert tone_table(country) is None
    assert any(name in celebrated_on(country, day, ("public", "optional", "government",
        "workday")) for day in _days_of(2027))  # fmt: skip
    assert tone_of(country, name) == tone


def _days_of(year: int) -> list[date]:
    return [date(year, 1, 1) + timedelta(days=n) for n in range(365)]


def test_no_festive_greeting_on_tisha_b_av_in_israel() -> None:
    israeli = customer(country="IL", locale="he_IL", timezone="Asia/Jerusalem")
    found = miss({"type": "holiday", "categories": ["optional"]}, israeli, date(2027, 8, 12))
    assert "Tisha B'Av is a day of mourning in IL" in found.detail


# -- the trigger ------------------------------------------------------------------------

IRANIAN = customer()
CHINESE = customer(country="CN", locale="zh_CN", timezone="Asia/Shanghai")


def test_ashura_is_no_occasion_for_a_celebration_campaign() -> None:
    found = miss({"type": "holiday"}, IRANIAN, date(2027, 6, 16))
    assert "Ashura is a day of mourning" in found.detail


def test_a_mourning_day_shadows_a_festive_holiday_on_the_same_day() -> None:
    # 4 June 2026: Eid al-Ghadir and the anniversary of Khomeini's death.
    assert set(celebrated_on("IR", date(2026, 6, 4))) == {
        "Death of Imam Khomeini",
        "Eid al-Ghadir",
    }
    assert "day of mourning" in miss({"type": "holiday"}, IRANIAN, date(2026, 6, 4)).detail


def test_tones_choose_what_a_campaign_reaches() -> None:
    qingming = date(2027, 4, 5)
    miss({"type": "holiday"}, CHINESE, qingming)
    found = occasion({"type": "holiday", "tones": ["observance"]}, CHINESE, qingming)
    assert (found.name, found.tone) == ("Tomb-Sweeping Day", "observance")
    assert occasion({"type": "holiday"}, CHINESE, date(2027, 2, 6)).tone == "celebration"


def test_substituted_rest_days_are_never_occasions() -> None:
    every = {"type": "holiday", "tones": list(TONES), "categories": ["public", "half_day"]}
    substituted = []
    for year in YEARS:
        calendar = holidays.country_holidays("CN", years=year, language="en_US")
        for day, names in calendar.items():
            if is_substitute(names):
                substituted.append(day)
                found = find(every, day)
                assert found is None or not is_substitute(found), (day, found)
    assert len(substituted) > 10


def find(trigger: dict[str, object], day: date) -> str | None:
    found = find_occasion(campaign(trigger), CHINESE, day, SETTINGS)
    return found.name if isinstance(found, Occasion) else None


def test_the_spring_festival_run_is_one_occasion_with_its_rest_days() -> None:
    every = {"type": "holiday", "tones": list(TONES)}
    days = [date(2026, 2, 14) + timedelta(days=n) for n in range(14)]
    found = [(day, find(every, day)) for day in days]
    assert [(day, name) for day, name in found if name] == [
        (date(2026, 2, 17), "Chinese New Year (Spring Festival)")
    ]
    named = {"type": "holiday", "names": ["New Year's Eve"]}
    assert find(named, date(2026, 2, 16)) == "Chinese New Year's Eve"


# -- campaigns validate -------------------------------------------------------------------


def test_an_offer_on_mourning_tones_is_refused_at_its_line(tmp_path: Path) -> None:
    text = HEADER + "trigger:\n  type: holiday\n  tones: [celebration, mourning]\noffer:\n"
    text += "  discount_percent: 10\n"
    (problem,) = load_problems(tmp_path, text)
    assert problem.startswith("t.yaml:6: trigger.tones.1: a day of mourning never gets an offer")


def test_an_offer_on_a_named_mourning_holiday_is_refused_saying_why(tmp_path: Path) -> None:
    text = HEADER + "trigger:\n  type: holiday\n  names: [Nowruz, Ashura]\n"
    text += "audience:\n  countries: [IR]\noffer:\n  discount_percent: 10\n"
    (problem,) = load_problems(tmp_path, text)
    assert problem == (
        "t.yaml:6: trigger.names.1: 'Ashura' names a day of mourning (Ashura), which never "
        "gets an offer or a congratulation: remove it from names, or the offer"
    )


def test_a_named_mourning_holiday_without_mourning_tones_would_never_match(
    tmp_path: Path,
) -> None:
    text = HEADER + "trigger:\n  type: holiday\n  names: [Tasua]\n"
    (problem,) = load_problems(tmp_path, text)
    assert "names a day of mourning (Tasua), which is left out unless tones lists" in problem
    text = HEADER + "trigger:\n  type: holiday\n  names: [Tomb-Sweeping]\n"
    (problem,) = load_problems(tmp_path, text)
    assert "finds only days of observance, which tones (celebration) leaves out" in problem


def test_condolences_without_an_offer_load(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(HEADER + "trigger:\n  type: holiday\n  tones: [mourning]\n", "utf-8")
    assert load_campaign(path, SETTINGS).trigger.tones == ["mourning"]  # type: ignore[union-attr]
