"""Taiwan's 1 January is greeted as 元旦, the New Year, in both scripts.

Its calendar names the day 中華民國開國紀念日 (the founding of the Republic of China), so
the holiday offer read '中華民國開國紀念日快樂！' (found by the native-reader tester): a
commemoration's official title, not what anyone wishes on New Year's Day (元旦快樂, as
Hong Kong's 一月一日 is greeted since e83522e).
"""

from __future__ import annotations

from datetime import date

import pytest

from rapport.engine.triggers.calendars import holiday_name


@pytest.mark.parametrize("locale", ["zh_TW", "zh_HK", "zh_CN"])
def test_taiwan_s_first_of_january_is_greeted_as_the_new_year(locale: str) -> None:
    english = "Founding Day of the Republic of China"
    assert holiday_name("TW", date(2026, 1, 1), locale, english=english) == "元旦"
