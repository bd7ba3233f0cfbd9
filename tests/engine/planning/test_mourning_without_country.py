"""A customer whose country is not on record still keeps their days of mourning: a
Persian reader in Tehran imported without a country was wished "تولدتان مبارک" with
10 % off on Ashura (found by the native-reader tester), because only ``country`` named
the days to keep. Without it, the territory of their locale (fa_IR: Iran) names them,
else their time zone's (Asia/Tehran: Iran); a country on record always wins.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from rapport.engine.planning.planner import Reason
from rapport.engine.triggers.mourning import mourning_country
from tests.engine.planning.test_holiday_care import AMERICAN, ASHURA, IRANIAN, plan_days, plan_on
from tests.engine.planning.test_mourning_days import AFTER, BORN_ON_ASHURA, offers


def test_without_a_country_the_locales_territory_names_the_days_of_mourning() -> None:
    customer = replace(BORN_ON_ASHURA, country=None, locale="fa_IR", timezone="Europe/Berlin")
    assert mourning_country(customer) == "IR"
    (on_ashura,) = plan_on(customer, [offers("birthday")], ASHURA)
    assert on_ashura.reason is Reason.NO_OCCASION
    assert "Ashura is a day of mourning in IR" in on_ashura.detail


def test_without_a_country_or_a_locale_territory_the_time_zone_names_them() -> None:
    customer = replace(BORN_ON_ASHURA, country=None, locale="fa", timezone="Asia/Tehran")
    assert mourning_country(customer) == "IR"
    sent = list(plan_days(customer, [offers("birthday")], date(2027, 6, 10), date(2027, 6, 24)))
    assert [day for day, _ in sent] == [AFTER]


def test_a_time_zone_written_as_its_older_alias_names_them_too() -> None:
    """'Iran' is the tz database's alias of Asia/Tehran, accepted at import; CLDR maps
    only the canonical name to a territory."""
    customer = replace(BORN_ON_ASHURA, country=None, locale="fa", timezone="Iran")
    assert mourning_country(customer) == "IR"
    sent = list(plan_days(customer, [offers("birthday")], date(2027, 6, 10), date(2027, 6, 24)))
    assert [day for day, _ in sent] == [AFTER]


def test_a_country_on_record_wins_over_locale_and_time_zone() -> None:
    living_abroad = replace(BORN_ON_ASHURA, country="DE", locale="fa_IR", timezone="Asia/Tehran")
    assert mourning_country(living_abroad) == "DE"
    sent = list(plan_days(living_abroad, [offers("birthday")], date(2027, 6, 10), AFTER))
    assert [day for day, _ in sent] == [ASHURA]


def test_no_country_anywhere_keeps_no_days_of_mourning() -> None:
    unplaced = replace(IRANIAN, country=None, locale="fa", timezone="UTC")
    assert mourning_country(unplaced) is None
    assert mourning_country(replace(AMERICAN, country=None)) == "US"  # en_US
