"""The day of Arafah is a day of fasting and prayer, not a feast, in every country.

Saudi Arabia's tone file has it as an observance; the countries without a tone file
(the Emirates, Egypt, Kuwait, Jordan and some twenty more) had their tone guessed from
the English name, 'Day of Arafah', as a celebration. Being the day off before Eid
al-Adha, it was the run's one occasion: customers in the Emirates were wished 'Happy
Day of Arafah' with 20% off on 26 May 2026, and Eid al-Adha the next day went
ungreeted (found by the native-reader tester). Slovakia's 'Day of Our Lady of the Seven
Sorrows' was guessed a celebration too.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rapport.engine.triggers import Occasion, find_occasion
from rapport.engine.triggers.tones import guess_tone, tone_of
from tests.engine.triggers.conftest import SETTINGS, campaign, customer

EMIRATI = customer(country="AE", locale="ar_AE", timezone="Asia/Dubai")
#: Eid al-Adha 1447 in the Emirates' calendar (holidays), the day after Arafah.
EID_AL_ADHA = date(2026, 5, 27)


@pytest.mark.parametrize("name", ["Day of Arafah", "Day of Our Lady of the Seven Sorrows"])
def test_a_day_of_fasting_or_sorrow_is_guessed_an_observance(name: str) -> None:
    assert guess_tone(name) == "observance"


def test_the_guess_for_arafah_agrees_with_the_saudi_tone_file() -> None:
    assert tone_of("SA", "Day of Arafah") == tone_of("AE", "Day of Arafah") == "observance"


def test_in_the_emirates_eid_al_adha_is_greeted_not_the_day_of_arafah() -> None:
    greeted = []
    for offset in range(-2, 4):
        day = EID_AL_ADHA + timedelta(days=offset)
        hit = find_occasion(campaign({"type": "holiday"}), EMIRATI, day, SETTINGS)  # type: ignore[arg-type]
        if isinstance(hit, Occasion):
            greeted.append((day, hit.name))
    assert greeted == [(EID_AL_ADHA, "Eid al-Adha")]
