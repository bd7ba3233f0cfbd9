"""A day of mourning gets no offer and no congratulation from any campaign (issue 17,
point 1): planning 2027-06-16 (Ashura) on the demo store sent Iranian customers
"تولدتان مبارک! ۱۰٪ تخفیف". A birthday, anniversary or tier message, or any message
with an offer, waits for the day after the run of mourning days and goes out once
then; a message with neither goes out as usual, and a country that does not mourn
that day is not held back.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from factories import order_history, order_line
from sqlalchemy import create_engine, insert, select

from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import TierConfig
from rapport.engine.core.models import CUSTOMER
from rapport.engine.planning.planner import Reason
from rapport.engine.triggers import trigger_reach
from rapport.engine.triggers.models import HolidayTrigger
from rapport.engine.triggers.mourning import mourned_on, mourning_anywhere_before, mourning_before
from tests.engine.planning.test_holiday_care import (
    AMERICAN,
    ASHURA,
    IRANIAN,
    TASUA,
    plan_days,
    plan_on,
    rendered,
    shipped,
)

AFTER = date(2027, 6, 17)
BORN_ON_ASHURA = replace(IRANIAN, birthday=date(1990, 6, 16))
BORN_ON_TASUA = replace(IRANIAN, birthday=date(1990, 6, 15))


def offers(name: str, **changes: Any) -> Campaign:
    """The shipped campaign under the topic the test customers granted, for every
    stage, at any time; ``changes`` replace whole fields (a trigger, an offer)."""
    base = shipped(name)
    data = base.model_dump(exclude={"id", "source"}, exclude_none=True)
    data.update(topic="offers", audience={}, send_window=None, templates=base.template_set)
    data["trigger"] = base.trigger.model_dump(exclude_defaults=True)
    data.update(changes)
    return Campaign.model_validate(data).model_copy(update={"id": name, "source": name})


def test_tasua_and_ashura_are_days_of_mourning_in_iran_only() -> None:
    assert (mourned_on("IR", TASUA), mourned_on("ir", ASHURA)) == ("Tasua", "Ashura")
    assert mourned_on("IR", AFTER) is None and mourned_on("US", ASHURA) is None
    assert mourning_before("IR", AFTER) == [TASUA, ASHURA]
    assert mourning_before("IR", ASHURA) == [TASUA] and mourning_before("US", AFTER) == []
    assert {TASUA, ASHURA} <= set(mourning_anywhere_before(AFTER))


def test_a_birthday_on_ashura_waits_for_the_day_after_and_is_sent_once() -> None:
    birthday = offers("birthday")
    (on_ashura,) = plan_on(BORN_ON_ASHURA, [birthday], ASHURA)
    assert on_ashura.reason is Reason.NO_OCCASION
    assert "Ashura is a day of mourning in IR" in on_ashura.detail
    sent = list(plan_days(BORN_ON_ASHURA, [birthday], date(2027, 6, 10), date(2027, 6, 24)))
    assert [(day, d.occasion.key if d.occasion else None) for day, d in sent] == [
        (AFTER, "birthday:2027")
    ]
    subject, _text, _html, sms = rendered(BORN_ON_ASHURA, sent[0][1], birthday)
    assert "تولدتان مبارک" in subject and "تولدتان مبارک" in sms


def test_a_birthday_on_tasua_waits_through_ashura_too() -> None:
    sent = list(plan_days(BORN_ON_TASUA, [offers("birthday")], date(2027, 6, 10), AFTER))
    assert [day for day, _ in sent] == [AFTER]


def test_a_country_that_does_not_mourn_that_day_gets_its_birthday_on_the_day() -> None:
    american = replace(AMERICAN, birthday=date(1990, 6, 16))
    sent = list(plan_days(american, [offers("birthday")], date(2027, 6, 10), AFTER))
    assert [day for day, _ in sent] == [ASHURA]


def test_any_offer_waits_but_a_plain_message_goes_out_on_a_day_of_mourning() -> None:
    monthly = {"type": "recurring", "cron": "0 10 16 6 *"}
    plain = offers("newsletter", trigger=monthly, offer={})
    offer = offers("newsletter", trigger=monthly, offer={"discount_percent": 10})
    assert plan_on(IRANIAN, [plain], ASHURA)[0].selected
    (held,) = plan_on(IRANIAN, [offer], ASHURA)
    assert held.reason is Reason.NO_OCCASION and "no offer" in held.detail
    (late,) = plan_on(IRANIAN, [offer], AFTER)
    assert late.selected and late.occasion is not None
    assert late.occasion.key == "recurring:2027-06-16"


def test_an_order_triggered_offer_waits_too() -> None:
    # The win-back offer falls due on Ashura, 150 days after the last order.
    lapsed = replace(
        IRANIAN, history=order_history(order_line("O-9", "SERUM-30ML", date(2027, 1, 17)))
    )
    winback = offers("winback")
    assert plan_on(lapsed, [winback], ASHURA)[0].reason is Reason.NO_OCCASION
    (late,) = plan_on(lapsed, [winback], AFTER)
    assert late.selected and late.occasion is not None
    assert late.occasion.key == "winback:2027-01-17"


#: 21 August 2026, the martyrdom of Imam Hasan al-Askari: a day of mourning in Iran,
#: nine days before the Prophet's birthday (30 August 2026).
ASKARI = date(2026, 8, 21)


def test_a_holiday_offer_sent_days_ahead_waits_out_a_day_of_mourning() -> None:
    """``days_before`` moves a holiday greeting onto another day, which may be one of
    mourning: the greeting and its offer wait for the day after, and go out once."""
    ahead = offers(
        "holiday-offer",
        trigger={"type": "holiday", "names": ["Birthday of Muhammad"], "days_before": 9},
    )
    assert mourned_on("IR", ASKARI) == "Martyrdom of Hasan al-Askari"
    (on_the_day,) = plan_on(IRANIAN, [ahead], ASKARI)
    assert on_the_day.reason is Reason.NO_OCCASION
    assert "Martyrdom of Hasan al-Askari is a day of mourning in IR" in on_the_day.detail
    sent = list(plan_days(IRANIAN, [ahead], date(2026, 8, 15), date(2026, 8, 31)))
    assert [(day, d.occasion.key if d.occasion else None) for day, d in sent] == [
        (date(2026, 8, 22), "holiday:Birthday of Muhammad and Imam Ja'far al-Sadiq:2026-08-30")
    ]


def test_the_prefilter_keeps_whom_a_day_of_mourning_held_back_from_a_holiday() -> None:
    """The planner reads only the customers the trigger's reach keeps: on the day after
    the mourning, the Iranian customer whose greeting waited must still be read."""
    trigger = HolidayTrigger.model_validate(
        {"type": "holiday", "names": ["Birthday of Muhammad"], "days_before": 9}
    )
    engine = create_engine("sqlite://")
    CUSTOMER.metadata.create_all(engine, tables=[CUSTOMER])
    created = datetime(2024, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        for cid, country in (("IR-1", "IR"), ("US-1", "US")):
            connection.execute(
                insert(CUSTOMER).values(
                    id=cid, locale="en", timezone="UTC", country=country, created_at=created
                )
            )
        day = date(2026, 8, 22)
        reach = trigger_reach(trigger, day, datetime(2026, 8, 22, tzinfo=UTC), TierConfig())
        kept = connection.execute(select(CUSTOMER.c.id).where(reach)).scalars().all()
    assert kept == ["IR-1"]
