"""Triggers that follow the orders are pure: reorder, welcome, win-back, tier reached
and feedback.

Each test asks ``find_occasion`` one question about one day, for a customer with the
orders it gives. The calendar triggers are tested in ``test_date_triggers.py``; the
helpers both use are in ``conftest.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from rapport.engine.core.config import Settings, TierConfig, TierLevel
from rapport.engine.customers.lifecycle import OrderLine
from rapport.engine.triggers import Occasion, find_occasion
from rapport.engine.triggers.orders import learned_interval
from tests.engine.triggers.conftest import HEADER, campaign, customer, load_problems, miss, occasion


def order(
    order_id: str, day: date, sku: str = "SERUM", amount: int = 50, hour: int = 12
) -> OrderLine:
    return OrderLine(
        id=order_id,
        sku=sku,
        quantity=1,
        amount=Decimal(amount),
        currency="USD",
        ordered_at=datetime(day.year, day.month, day.day, hour, tzinfo=UTC),
        day=day,
    )


# reorder


def test_reorder_after_the_skus_configured_interval() -> None:
    person = customer(order("O1", date(2027, 1, 1)))
    found = occasion({"type": "reorder", "skus": {"SERUM": 30}}, person, date(2027, 1, 31))
    assert (found.key, found.sku) == ("reorder:SERUM:2027-01-01", "SERUM")


def test_learned_interval_is_the_median_gap_between_orders_of_the_sku() -> None:
    days = [date(2027, 1, 1), date(2027, 1, 21), date(2027, 2, 20), date(2027, 4, 1)]
    person = customer(*(order(f"O{i}", d) for i, d in enumerate(days)))
    assert learned_interval(person.history, "SERUM") == 30  # gaps 20, 30, 40


def test_learned_interval_rounds_half_days_up() -> None:
    days = [date(2027, 1, 1), date(2027, 1, 21), date(2027, 2, 21)]
    person = customer(*(order(f"O{i}", d) for i, d in enumerate(days)))
    assert learned_interval(person.history, "SERUM") == 26  # gaps 20, 31: median 25.5


def test_reorder_learn_uses_the_customers_own_rhythm() -> None:
    person = customer(order("O1", date(2027, 1, 1)), order("O2", date(2027, 1, 21)))
    trigger = {"type": "reorder", "learn": True, "skus": {"SERUM": 60}}
    assert occasion(trigger, person, date(2027, 2, 10)).key == "reorder:SERUM:2027-01-21"


def test_reorder_learn_falls_back_to_the_configured_interval_with_one_order() -> None:
    person = customer(order("O1", date(2027, 1, 1)))
    trigger = {"type": "reorder", "learn": True, "days_after": 45}
    assert occasion(trigger, person, date(2027, 2, 15)).sku == "SERUM"


def test_reorder_learn_without_a_fallback_needs_two_orders() -> None:
    person = customer(order("O1", date(2027, 1, 1)))
    miss({"type": "reorder", "learn": True}, person, date(2027, 1, 31))


def test_reorder_learn_with_skus_only_covers_the_listed_skus() -> None:
    person = customer(
        order("O1", date(2027, 1, 1), sku="BAG"), order("O2", date(2027, 1, 11), sku="BAG")
    )
    miss({"type": "reorder", "learn": True, "skus": {"SERUM": 30}}, person, date(2027, 1, 21))


def test_reorder_without_any_interval_is_refused() -> None:
    with pytest.raises(ValidationError, match="learn"):
        campaign({"type": "reorder"})


def test_reorder_without_orders_is_no_occasion() -> None:
    assert miss({"type": "reorder", "days_after": 30}, customer(), date(2027, 1, 1)).detail


# welcome


def test_welcome_on_the_day_of_the_first_order() -> None:
    person = customer(order("O1", date(2027, 1, 1)), order("O2", date(2027, 1, 5)))
    found = occasion({"type": "welcome"}, person, date(2027, 1, 1))
    assert (found.key, found.order_id) == ("welcome:O1", "O1")


def test_welcome_days_after_the_first_order_not_later_ones() -> None:
    person = customer(order("O1", date(2027, 1, 1)), order("O2", date(2027, 1, 5)))
    assert occasion({"type": "welcome", "days_after": 3}, person, date(2027, 1, 4))
    miss({"type": "welcome", "days_after": 3}, person, date(2027, 1, 8))


def test_welcome_needs_an_order() -> None:
    assert miss({"type": "welcome"}, customer(), date(2027, 1, 1)).detail == "no orders yet"


def test_welcome_after_signup_counts_from_the_local_sign_up_date() -> None:
    person = customer(created_at=datetime(2027, 1, 1, 21, tzinfo=UTC))  # 2 Jan in Tehran
    found = occasion(
        {"type": "welcome", "after": "signup", "days_after": 1}, person, date(2027, 1, 3)
    )
    assert found.key == "welcome:signup"


# winback


def test_winback_on_the_day_the_gap_reaches_n_days() -> None:
    person = customer(order("O1", date(2026, 1, 1)), order("O2", date(2026, 10, 1)))
    found = occasion({"type": "winback", "days_without_order": 90}, person, date(2026, 12, 30))
    assert (found.key, found.last_ordered_at) == ("winback:2026-10-01", date(2026, 10, 1))


@pytest.mark.parametrize("days", [89, 91])
def test_winback_fires_only_on_the_exact_day(days: int) -> None:
    person = customer(order("O1", date(2026, 10, 1)))
    day = date(2026, 10, 1) + timedelta(days=days)
    miss({"type": "winback", "days_without_order": 90}, person, day)


def test_winback_never_for_customers_who_never_ordered() -> None:
    assert (
        "never ordered"
        in miss({"type": "winback", "days_without_order": 90}, customer(), date(2027, 1, 1)).detail
    )


# tier reached


def test_tier_reached_on_the_day_spend_crosses_the_threshold() -> None:
    person = customer(order("O1", date(2027, 1, 5), amount=300), order("O2", date(2027, 2, 1)))
    found = occasion({"type": "tier_reached"}, person, date(2027, 2, 1))
    assert (found.key, found.tier) == ("tier:vib:2027-02-01", "vib")


def test_tier_reached_is_not_repeated_the_next_day() -> None:
    person = customer(order("O1", date(2027, 1, 5), amount=300), order("O2", date(2027, 2, 1)))
    miss({"type": "tier_reached"}, person, date(2027, 2, 2))


def test_tier_reached_tiers_filter_ignores_lower_tiers() -> None:
    person = customer(order("O1", date(2027, 1, 5), amount=400))
    assert (
        "not a targeted tier"
        in miss({"type": "tier_reached", "tiers": ["rouge"]}, person, date(2027, 1, 5)).detail
    )


def test_tier_reached_jumping_past_a_targeted_tier_counts() -> None:
    person = customer(order("O1", date(2027, 1, 5), amount=1500))
    found = occasion({"type": "tier_reached", "tiers": ["vib"]}, person, date(2027, 1, 5))
    assert found.tier == "rouge"


def test_tier_reached_again_after_spend_aged_out() -> None:
    person = customer(
        order("O1", date(2025, 1, 19), amount=400), order("O2", date(2026, 3, 15), amount=400)
    )
    # (Not 1 March 2026, a day of national mourning in Iran: see test_mourning_days.)
    assert occasion({"type": "tier_reached"}, person, date(2026, 3, 15)).tier == "vib"


def test_tier_reached_uses_the_operators_tiers() -> None:
    levels = [
        TierLevel(name="base", min_spend=Decimal(0)),
        TierLevel(name="gold", min_spend=Decimal(40)),
    ]
    settings = Settings(tiers=TierConfig(levels=levels))
    found = find_occasion(
        campaign({"type": "tier_reached"}),
        customer(order("O1", date(2027, 1, 5))),
        date(2027, 1, 5),
        settings,
    )
    assert isinstance(found, Occasion) and found.tier == "gold"


def test_tier_reached_tiers_must_be_configured(tmp_path: Path) -> None:
    problems = load_problems(tmp_path, HEADER + "trigger:\n  type: tier_reached\n  tiers: [gold]\n")
    assert problems == [
        "t.yaml:6: trigger.tiers.0: unknown tier 'gold'; configured tiers: insider, vib, rouge"
    ]


# feedback


def test_feedback_n_days_after_each_order() -> None:
    person = customer(order("O1", date(2027, 1, 1)), order("O2", date(2027, 1, 4)))
    assert occasion({"type": "feedback", "days_after_order": 7}, person, date(2027, 1, 8)).key == (
        "feedback:O1"
    )
    assert occasion({"type": "feedback", "days_after_order": 7}, person, date(2027, 1, 11)).key == (
        "feedback:O2"
    )


def test_feedback_for_several_orders_on_one_day_is_one_request() -> None:
    person = customer(order("O1", date(2027, 1, 1), hour=9), order("O2", date(2027, 1, 1), hour=15))
    found = occasion({"type": "feedback", "days_after_order": 7}, person, date(2027, 1, 8))
    assert found.order_id == "O1"


def test_feedback_without_an_order_that_day_is_no_occasion() -> None:
    person = customer(order("O1", date(2027, 1, 1)))
    miss({"type": "feedback", "days_after_order": 7}, person, date(2027, 1, 9))
