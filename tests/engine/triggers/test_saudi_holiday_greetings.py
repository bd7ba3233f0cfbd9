"""Saudi Arabia's holidays are greeted by the feast, not by the days off.

Its calendar names every day of each break 'Eid al-Fitr Holiday', 'Eid al-Adha
Holiday', 'National Day Holiday', 'Founding Day Holiday' (عطلة عيد الفطر, عطلة عيد
الأضحى), so the holiday offer read 'Happy Eid al-Adha Holiday, Laila!' (found by the
native-reader tester): one wishes a happy Eid al-Adha (عيد الأضحى), not a happy day off.
"""

from __future__ import annotations

from datetime import date

import pytest

from rapport.engine.triggers.calendars import holiday_name


@pytest.mark.parametrize(
    ("day", "english", "locale", "greeted"),
    [
        (date(2026, 5, 27), "Eid al-Adha Holiday", "en", "Eid al-Adha"),
        (date(2026, 3, 20), "Eid al-Fitr Holiday", "en_US", "Eid al-Fitr"),
        (date(2026, 9, 23), "National Day Holiday", "en", "National Day"),
        (date(2026, 2, 22), "Founding Day Holiday", "en_GB", "Founding Day"),
        (date(2026, 5, 27), "Eid al-Adha Holiday", "ar_SA", "عيد الأضحى"),
        (date(2026, 3, 20), "Eid al-Fitr Holiday", "ar", "عيد الفطر"),
    ],
)
def test_a_saudi_holiday_is_greeted_by_the_feast_s_name(
    day: date, english: str, locale: str, greeted: str
) -> None:
    assert holiday_name("SA", day, locale, english=english) == greeted
