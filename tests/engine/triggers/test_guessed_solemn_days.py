"""Solemn days of countries without a tone file are not guessed festive.

Without a tone file a holiday's tone is guessed from its English name, and only
"Martyrdom", "Memorial" and the like made a day solemn: 'Martyrs' Day' (Tunisia,
Lebanon, Syria, Azerbaijan and a dozen more), Bangladesh's 'Martyrs' Day and
International Mother Language Day', Holy Week's Maundy Thursday and Holy Saturday,
Ash Wednesday, Yom Kippur (a day of fasting and atonement) and Liberia's 'Fasting and
Prayer Day' were celebrations, so the holiday offer wished 'Happy Martyrs' Day' and
'Happy Yom Kippur' with a discount (found by the native-reader tester). Carnival's
'Monday before Ash Wednesday' stays festive.
"""

from __future__ import annotations

import pytest

from rapport.engine.triggers.tones import guess_tone


@pytest.mark.parametrize(
    "name",
    [
        "Martyrs' Day",
        "Martyr's Day",
        "Martyrs Day",
        "Uganda Martyrs' Day",
        "First Martyr",
        "Martyrs' Day and International Mother Language Day",
        "Maundy Thursday",
        "Holy Thursday",
        "Holy Saturday",
        "Ash Wednesday",
        "Yom Kippur",
        "Fasting and Prayer Day",
    ],
)
def test_a_solemn_day_is_guessed_an_observance(name: str) -> None:
    assert guess_tone(name) == "observance"


def test_carnival_monday_before_ash_wednesday_is_still_a_celebration() -> None:
    assert guess_tone("Monday before Ash Wednesday") == "celebration"
