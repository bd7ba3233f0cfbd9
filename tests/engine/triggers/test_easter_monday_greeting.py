"""Hong Kong's Easter Monday is greeted as Easter, in both scripts.

Its calendar calls the day off 復活節星期一 ("Easter's Monday"), so the holiday offer
read '復活節星期一快樂！' (found by the native-reader tester), a day count no one
greets with, as 農曆年初一 was (52cd306). A greeting says 復活節 (复活节).
"""

from __future__ import annotations

from datetime import date

import pytest

from rapport.engine.triggers.calendars import holiday_name

EASTER_MONDAY_2026 = date(2026, 4, 6)


@pytest.mark.parametrize(("locale", "greeted"), [("zh_HK", "復活節"), ("zh_CN", "复活节")])
def test_hong_kong_s_easter_monday_is_greeted_as_easter(locale: str, greeted: str) -> None:
    name = holiday_name("HK", EASTER_MONDAY_2026, locale, english="Easter Monday")
    assert name == greeted
