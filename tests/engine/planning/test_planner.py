"""The planner is a pure function: these tests call it directly, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from factories import profile

from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import AllowedHours, Caps, CapsConfig, QuietHours, Settings
from rapport.engine.customers.lifecycle import OrderHistory
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.planning.caps import RecentMessage
from rapport.engine.planning.planner import (
    Audiences,
    Reason,
    decide,
    plan,
    plan_customer,
)

SETTINGS = Settings()
DAY = date(2026, 11, 26)  # Thanksgiving Day in the United States
BEFORE_DAY = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)


def campaign(**overrides: object) -> Campaign:
    data: dict[str, object] = {
        "id": "birthday",
        "name": "Birthday",
        "trigger": {"type": "birthday"},
        "topic": "birthday",
        "channels": ["email", "sms"],
        "send_window": {"start": "09:00", "end": "20:00"},
    }
    data.update(overrides)
    return Campaign.model_validate(data)


def customer(**overrides: object) -> CustomerProfile:
    data: dict[str, object] = {
        "first_name": "سارا",
        "last_name": "احمدی",
        "email": "sara@example.com",
        "phone": "+989121234567",
        "country": "IR",
        "birthday": date(1990, 11, 26),
        "history": OrderHistory(
            order_count=2,
            last_order_at=datetime(2026, 10, 1, tzinfo=UTC),
            spend_12m=Decimal(100),
        ),
    }
    data.update(overrides)
    return profile(**data)


def granted(*pairs: tuple[str, str], customer_id: str = "C1") -> Audiences:
    return Audiences(granted={customer_id: set(pairs)})


def test_birthday_selected_with_consent_on_the_day() -> None:
    decision = decide(
        customer(), campaign(), granted(("email", "birthday")), DAY, BEFORE_DAY, SETTINGS
    )
    assert decision.selected
    assert decision.channel == "email"
    assert decision.idempotency_key == "C1:birthday:birthday:2026:email"


def test_no_consent_for_topic_means_no_message() -> None:
    decision = decide(
        customer(), campaign(), granted(("email", "offers")), DAY, BEFORE_DAY, SETTINGS
    )
    assert decision.reason is Reason.NO_CONSENT


def test_consent_on_another_channel_is_not_consent_on_this_one() -> None:
    decision = decide(
        customer(),
        campaign(channels=["email"]),
        granted(("sms", "birthday")),
        DAY,
        BEFORE_DAY,
        SETTINGS,
    )
    assert decision.reason is Reason.NO_CONSENT


def test_falls_back_to_next_channel_in_order_of_preference() -> None:
    decision = decide(
        customer(), campaign(), granted(("sms", "birthday")), DAY, BEFORE_DAY, SETTINGS
    )
    assert decision.channel == "sms"


def test_suppressed_address_is_skipped() -> None:
    audiences = Audiences(
        granted={"C1": {("email", "birthday")}},
        suppressed={("email", "sara@example.com")},
    )
    decision = decide(customer(), campaign(), audiences, DAY, BEFORE_DAY, SETTINGS)
    assert decision.reason is Reason.SUPPRESSED


def test_not_the_birthday_means_no_occasion() -> None:
    decision = decide(
        customer(birthday=date(1990, 5, 1)),
        campaign(),
        granted(("email", "birthday")),
        DAY,
        BEFORE_DAY,
        SETTINGS,
    )
    assert decision.reason is Reason.NO_OCCASION


def test_leap_day_birthday_is_celebrated_on_28_february() -> None:
    decision = decide(
        customer(birthday=date(2000, 2, 29)),
        campaign(),
        granted(("email", "birthday")),
        date(2027, 2, 28),
        datetime(2027, 2, 27, tzinfo=UTC),
        SETTINGS,
    )
    assert decision.selected


def test_send_window_is_in_the_customers_local_time() -> None:
    tehran = decide(
        customer(), campaign(), granted(("email", "birthday")), DAY, BEFORE_DAY, SETTINGS
    )
    shanghai = decide(
        customer(timezone="Asia/Shanghai", locale="zh_CN", country="CN"),
        campaign(),
        granted(("email", "birthday")),
        DAY,
        BEFORE_DAY,
        SETTINGS,
    )
    assert tehran.send_at == datetime(2026, 11, 26, 5, 30, tzinfo=UTC)  # 09:00 +03:30
    assert shanghai.send_at == datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 09:00 +08:00


def test_window_already_closed_is_not_planned_late() -> None:
    late = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)  # 20:30 in Tehran
    decision = decide(customer(), campaign(), granted(("email", "birthday")), DAY, late, SETTINGS)
    assert decision.reason is Reason.WINDOW_PASSED


def test_holiday_of_the_customers_own_country() -> None:
    offer = campaign(id="holiday", trigger={"type": "holiday"}, topic="offers")
    american = customer(locale="en_US", timezone="America/New_York", country="US", birthday=None)
    iranian = customer(birthday=None)
    assert (
        decide(
            american, offer, granted(("email", "offers")), DAY, BEFORE_DAY, SETTINGS
        ).occasion.name
        == "Thanksgiving Day"
    )  # type: ignore[union-attr]
    assert (
        decide(iranian, offer, granted(("email", "offers")), DAY, BEFORE_DAY, SETTINGS).reason
        is Reason.NO_OCCASION
    )


def test_holiday_names_filter() -> None:
    offer = campaign(
        id="holiday", trigger={"type": "holiday", "names": ["Christmas"]}, topic="offers"
    )
    american = customer(locale="en_US", timezone="America/New_York", country="US")
    decision = decide(american, offer, granted(("email", "offers")), DAY, BEFORE_DAY, SETTINGS)
    assert decision.reason is Reason.NO_OCCASION


def test_reorder_nudge_after_the_skus_interval() -> None:
    reorder = campaign(
        id="reorder",
        trigger={"type": "reorder", "skus": {"SERUM-30ML": 30}},
        topic="reorder",
    )
    history = OrderHistory(
        order_count=1,
        last_order_at=datetime(2026, 10, 27, 9, tzinfo=UTC),
        last_order_by_sku={"SERUM-30ML": DAY - timedelta(days=30)},
    )
    decision = decide(
        customer(history=history),
        reorder,
        granted(("email", "reorder")),
        DAY,
        BEFORE_DAY,
        SETTINGS,
    )
    assert decision.selected
    assert decision.occasion is not None and decision.occasion.sku == "SERUM-30ML"
    other_day = decide(
        customer(history=history),
        reorder,
        granted(("email", "reorder")),
        DAY + timedelta(days=1),
        BEFORE_DAY,
        SETTINGS,
    )
    assert other_day.reason is Reason.NO_OCCASION


@pytest.mark.parametrize(
    ("orders", "last_days_ago", "stage"),
    [
        (0, None, "prospect"),
        (1, 10, "first_time"),
        (3, 10, "repeat"),
        (6, 10, "loyal"),
        (6, 200, "at_risk"),
        (6, 400, "lapsed"),
    ],
)
def test_audience_stage_is_derived_from_orders(
    orders: int, last_days_ago: int | None, stage: str
) -> None:
    last = None if last_days_ago is None else BEFORE_DAY - timedelta(days=last_days_ago)
    history = OrderHistory(order_count=orders, last_order_at=last)
    decision = decide(
        customer(history=history),
        campaign(audience={"stages": ["loyal"]}),
        granted(("email", "birthday")),
        DAY,
        BEFORE_DAY,
        SETTINGS,
    )
    assert decision.stage == stage
    assert decision.selected is (stage == "loyal")


def test_tier_by_trailing_spend() -> None:
    rich = customer(
        history=OrderHistory(order_count=2, spend_12m=Decimal(1200), last_order_at=BEFORE_DAY)
    )
    decision = decide(
        rich,
        campaign(audience={"tiers": ["rouge"]}),
        granted(("email", "birthday")),
        DAY,
        BEFORE_DAY,
        SETTINGS,
    )
    assert decision.tier == "rouge" and decision.selected


def test_paused_campaign_sends_nothing() -> None:
    decision = decide(
        customer(),
        campaign(paused=True),
        granted(("email", "birthday")),
        DAY,
        BEFORE_DAY,
        SETTINGS,
    )
    assert decision.reason is Reason.PAUSED


def test_plan_yields_a_decision_per_customer_and_campaign_by_priority() -> None:
    campaigns = [campaign(id="b", priority=50), campaign(id="a", priority=10)]
    people = [customer(id="C1"), customer(id="C2")]
    decisions = list(
        plan(people, campaigns, granted(("email", "birthday")), DAY, BEFORE_DAY, SETTINGS)
    )
    assert [(d.customer_id, d.campaign) for d in decisions] == [
        ("C1", "a"),
        ("C1", "b"),
        ("C2", "a"),
        ("C2", "b"),
    ]
    assert [d.reason for d in decisions] == [
        Reason.SELECTED,
        Reason.LOST_TO_PRIORITY,  # the default cap: one marketing message a day
        Reason.NO_CONSENT,
        Reason.NO_CONSENT,
    ]
    assert decisions[1].detail.startswith("lost to a:")


def settings_with(**updates: object) -> Settings:
    return SETTINGS.model_copy(update=updates)


def test_weekly_cap_counts_messages_already_in_the_outbox() -> None:
    recent = [RecentMessage("other", "email", DAY - timedelta(days=d)) for d in (1, 3, 5)]
    audiences = Audiences(granted={"C1": {("email", "birthday")}}, recent={"C1": recent})
    (decision,) = plan_customer(customer(), [campaign()], audiences, DAY, BEFORE_DAY, SETTINGS)
    assert decision.reason is Reason.CAP_REACHED
    assert decision.detail == "cap of 3 a week reached"


def test_messages_older_than_a_week_do_not_count() -> None:
    recent = [RecentMessage("other", "email", DAY - timedelta(days=d)) for d in (7, 8, 9)]
    audiences = Audiences(granted={"C1": {("email", "birthday")}}, recent={"C1": recent})
    (decision,) = plan_customer(customer(), [campaign()], audiences, DAY, BEFORE_DAY, SETTINGS)
    assert decision.selected


def test_a_channel_cap_falls_back_to_the_next_channel() -> None:
    settings = settings_with(
        caps=CapsConfig(per_day=2, per_week=5, channels={"email": Caps(per_week=1)})
    )
    recent = [RecentMessage("other", "email", DAY - timedelta(days=2))]
    audiences = Audiences(
        granted={"C1": {("email", "birthday"), ("sms", "birthday")}}, recent={"C1": recent}
    )
    (decision,) = plan_customer(customer(), [campaign()], audiences, DAY, BEFORE_DAY, settings)
    assert decision.selected and decision.channel == "sms"


def test_minimum_gap_between_sends_of_the_same_campaign() -> None:
    spaced = campaign(frequency={"min_days_between": 30})
    recent = [RecentMessage("birthday", "email", DAY - timedelta(days=10))]
    audiences = Audiences(granted={"C1": {("email", "birthday")}}, recent={"C1": recent})
    (decision,) = plan_customer(customer(), [spaced], audiences, DAY, BEFORE_DAY, SETTINGS)
    assert decision.reason is Reason.CAP_REACHED
    assert "at most once every 30 days" in decision.detail


def test_an_occasion_already_in_the_outbox_plans_nothing_new() -> None:
    audiences = Audiences(
        granted={"C1": {("email", "birthday")}},
        planned={"C1": {("birthday", "birthday:2026")}},
        recent={"C1": [RecentMessage("birthday", "email", DAY)]},
    )
    (decision,) = plan_customer(customer(), [campaign()], audiences, DAY, BEFORE_DAY, SETTINGS)
    assert decision.reason is Reason.ALREADY_PLANNED


def test_holdout_is_stable_and_close_to_its_share() -> None:
    held = campaign(holdout_percent=20)
    people = [customer(id=f"C{n}") for n in range(2000)]
    audiences = Audiences(granted={p.id: {("email", "birthday")} for p in people})
    first = [d.reason for d in plan(people, [held], audiences, DAY, BEFORE_DAY, SETTINGS)]
    again = [d.reason for d in plan(people, [held], audiences, DAY, BEFORE_DAY, SETTINGS)]
    assert first == again
    share = first.count(Reason.HOLDOUT) / len(first)
    assert 0.17 < share < 0.23
    assert set(first) == {Reason.SELECTED, Reason.HOLDOUT}


def test_variants_are_weighted_and_stable() -> None:
    split = campaign(
        variants=[
            {"name": "a", "weight": 3, "templates": "birthday"},
            {"name": "b", "weight": 1, "templates": "birthday-b"},
        ]
    )
    people = [customer(id=f"C{n}") for n in range(2000)]
    audiences = Audiences(granted={p.id: {("email", "birthday")} for p in people})
    chosen = [d.variant for d in plan(people, [split], audiences, DAY, BEFORE_DAY, SETTINGS)]
    assert chosen == [
        d.variant for d in plan(people, [split], audiences, DAY, BEFORE_DAY, SETTINGS)
    ]
    assert 0.70 < chosen.count("a") / len(chosen) < 0.80
    (one,) = plan_customer(people[0], [split], audiences, DAY, BEFORE_DAY, SETTINGS)
    assert one.template_set == ("birthday" if one.variant == "a" else "birthday-b")


def test_sms_is_never_planned_in_quiet_hours() -> None:
    early = campaign(channels=["sms"], send_window={"start": "06:00", "end": "09:00"})
    decision = decide(customer(), early, granted(("sms", "birthday")), DAY, BEFORE_DAY, SETTINGS)
    assert decision.selected
    local = decision.send_at.astimezone(ZoneInfo("Asia/Tehran"))  # type: ignore[union-attr]
    assert local.hour == 8 and local.minute == 0
    night = campaign(channels=["sms"], send_window={"start": "21:30", "end": "23:00"})
    decision = decide(customer(), night, granted(("sms", "birthday")), DAY, BEFORE_DAY, SETTINGS)
    assert decision.reason is Reason.QUIET_HOURS


def test_quiet_hours_per_country() -> None:
    settings = settings_with(
        quiet_hours={
            "sms": QuietHours(
                not_before=time(8),
                not_after=time(21),
                countries={"IR": AllowedHours(not_before=time(10), not_after=time(18))},
            )
        }
    )
    sms = campaign(channels=["sms"])
    decision = decide(customer(), sms, granted(("sms", "birthday")), DAY, BEFORE_DAY, settings)
    assert decision.send_at.astimezone(ZoneInfo("Asia/Tehran")).hour == 10  # type: ignore[union-attr]


def test_allow_late_sends_after_the_window_within_allowed_hours() -> None:
    late = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)  # 20:30 in Tehran
    lenient = campaign(channels=["sms"], allow_late=True)
    decision = decide(customer(), lenient, granted(("sms", "birthday")), DAY, late, SETTINGS)
    assert decision.selected and decision.send_at == late
    assert decision.expires_at.astimezone(ZoneInfo("Asia/Tehran")).hour == 21  # type: ignore[union-attr]


def test_campaign_outside_its_dates_is_not_active() -> None:
    ended = campaign(ends_on="2026-11-25")
    future = campaign(starts_on="2026-12-01")
    for limited in (ended, future):
        decision = decide(
            customer(), limited, granted(("email", "birthday")), DAY, BEFORE_DAY, SETTINGS
        )
        assert decision.reason is Reason.NOT_ACTIVE
