"""An Eid is greeted on the feast itself, never on the fasting day before it.

Several calendars give the days off of an Eid from the day before it: Saudi Arabia's
Eid al-Fitr holiday began on 30 Ramadan 1447 (19 March 2026), the Emirates' on 29 Ramadan
(their calendar calls 20 March 'Eid al-Fitr' and the 19th 'Eid al-Fitr Holiday'), and
Pakistan's Eid al-Adha on the day of Arafah. Adjacent holiday days are one occasion
greeted on the first day, so 'Eid Mubarak' went out while people were still fasting.
The first day of the feast, pinned from the Umm al-Qura calendar (hijridate
2.3.0: 1 Shawwal 1447 and 10 Dhu al-Hijjah 1447), is the occasion.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rapport.engine.triggers import Occasion, find_occasion
from tests.engine.triggers.conftest import SETTINGS, campaign, customer

#: Umm al-Qura (hijridate 2.3.0): Hijri(1447, 10, 1) and Hijri(1447, 12, 10) in Gregorian.
EID_AL_FITR_1447 = date(2026, 3, 20)
EID_AL_ADHA_1447 = date(2026, 5, 27)

SAUDI = customer(country="SA", locale="ar_SA", timezone="Asia/Riyadh")
EMIRATI = customer(country="AE", locale="ar_AE", timezone="Asia/Dubai")
PAKISTANI = customer(country="PK", locale="en_PK", timezone="Asia/Karachi")
CELEBRATIONS = {"type": "holiday"}


def greeted_days(
    person: object, first: date, days: int, trigger: dict[str, object] = CELEBRATIONS
) -> list[date]:
    found = []
    for n in range(days):
        day = first + timedelta(days=n)
        hit = find_occasion(campaign(trigger), person, day, SETTINGS)  # type: ignore[arg-type]
        if isinstance(hit, Occasion):
            found.append(day)
    return found


@pytest.mark.parametrize(
    ("person", "feast"),
    [(SAUDI, EID_AL_FITR_1447), (EMIRATI, EID_AL_FITR_1447), (PAKISTANI, EID_AL_ADHA_1447)],
    ids=["SA-fitr", "AE-fitr", "PK-adha"],
)
def test_an_eid_is_greeted_on_its_first_day_not_on_the_fasting_day_before(
    person: object, feast: date
) -> None:
    assert greeted_days(person, feast - timedelta(days=3), 7) == [feast]


def test_a_campaign_naming_the_eid_is_not_sent_on_the_fasting_day_before_it() -> None:
    # Saudi Arabia's days off all carry one name, 'Eid al-Fitr Holiday', the eve's too.
    trigger = {"type": "holiday", "names": ["Eid al-Fitr"]}
    first = EID_AL_FITR_1447 - timedelta(days=3)
    assert greeted_days(SAUDI, first, 7, trigger) == [EID_AL_FITR_1447]
