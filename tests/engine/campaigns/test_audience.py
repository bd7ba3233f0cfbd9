"""Audience rules and RFM are pure: each test calls them directly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from factories import profile
from pydantic import ValidationError

from rapport.engine.campaigns.audience import Audience, AudienceMiss, audience_miss
from rapport.engine.campaigns.model import load_campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError
from rapport.engine.customers.lifecycle import RFM, OrderHistory, OrderLine, rfm_of, segment_of
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.planning.planner import Reason

DAY = date(2027, 3, 21)


def history(*days_ago: int, amount: int = 100) -> OrderHistory:
    lines = [
        OrderLine(
            id=f"O{i}",
            sku="SERUM",
            quantity=1,
            amount=Decimal(amount),
            currency="USD",
            ordered_at=datetime.combine(DAY - timedelta(days=ago), datetime.min.time(), UTC),
            day=DAY - timedelta(days=ago),
        )
        for i, ago in enumerate(days_ago)
    ]
    return OrderHistory.from_orders(lines, datetime(2030, 1, 1, tzinfo=UTC))


def customer(**overrides: object) -> CustomerProfile:
    return profile(**{"birthday": date(1990, 6, 1), "history": history(10, 40, 70), **overrides})


def check(
    audience: dict[str, object], person: CustomerProfile | None = None
) -> AudienceMiss | None:
    rules = Audience.model_validate(audience)
    return audience_miss(rules, person or customer(), "repeat", "insider", day=DAY)


def where(
    *conditions: dict[str, object], person: CustomerProfile | None = None
) -> AudienceMiss | None:
    return check({"where": list(conditions)}, person)


def test_no_rules_means_everyone() -> None:
    assert check({}) is None


def test_every_miss_code_is_a_planner_reason() -> None:
    codes = {"stage", "tier", "segment", "lifetime_value", "country", "locale", "condition"}
    assert codes <= {reason.value for reason in Reason}


# RFM


@pytest.mark.parametrize(
    ("idle", "score"), [(0, 5), (30, 5), (31, 4), (90, 4), (91, 3), (181, 2), (365, 2), (366, 1)]
)
def test_recency_score_thresholds(idle: int, score: int) -> None:
    rfm = rfm_of(history(idle), DAY - timedelta(days=idle), DAY)
    assert rfm is not None and rfm.recency == score


@pytest.mark.parametrize(
    ("orders", "score"), [(1, 1), (2, 2), (3, 3), (4, 3), (5, 4), (9, 4), (10, 5)]
)
def test_frequency_score_thresholds(orders: int, score: int) -> None:
    rfm = rfm_of(history(*range(orders)), DAY, DAY)
    assert rfm is not None and rfm.frequency == score


@pytest.mark.parametrize(
    ("value", "score"), [(99, 1), (100, 2), (349, 2), (350, 3), (999, 3), (1000, 4), (2500, 5)]
)
def test_monetary_score_thresholds(value: int, score: int) -> None:
    rfm = rfm_of(history(1, amount=value), DAY, DAY)
    assert rfm is not None and rfm.monetary == score


def test_no_rfm_without_orders() -> None:
    assert rfm_of(OrderHistory(), None, DAY) is None


@pytest.mark.parametrize(
    ("scores", "segment"),
    [
        ((5, 5, 5), "champions"),
        ((4, 4, 3), "loyal"),
        ((3, 3, 1), "loyal"),
        ((5, 1, 1), "new"),
        ((4, 1, 1), "potential_loyalist"),
        ((3, 2, 2), "potential_loyalist"),
        ((2, 4, 1), "cant_lose"),
        ((1, 1, 5), "cant_lose"),
        ((2, 3, 2), "at_risk"),
        ((2, 1, 1), "hibernating"),
        ((1, 3, 3), "lost"),
    ],
)
def test_segment_of_score_patterns(scores: tuple[int, int, int], segment: str) -> None:
    assert segment_of(RFM(*scores)) == segment


def test_rfm_segment_targeted() -> None:
    assert check({"rfm_segments": ["loyal"]}) is None  # R5 F3 M2


def test_rfm_segment_not_targeted_names_segment_and_scores() -> None:
    assert check({"rfm_segments": ["champions"]}) == AudienceMiss(
        "segment", "segment loyal (R5 F3 M2) is not targeted"
    )


def test_customer_who_never_ordered_has_no_segment() -> None:
    found = check({"rfm_segments": ["new"]}, customer(history=OrderHistory()))
    assert found is not None and found.code == "segment" and "never ordered" in found.detail


def test_rules_that_depend_on_the_day_need_the_day() -> None:
    rules = Audience.model_validate({"rfm_segments": ["loyal"]})
    with pytest.raises(TypeError, match="day"):
        audience_miss(rules, customer(), "repeat", "insider")


def test_unknown_segment_is_refused() -> None:
    with pytest.raises(ValidationError):
        Audience.model_validate({"rfm_segments": ["whales"]})


# lifetime value


def test_lifetime_value_within_range() -> None:
    assert check({"lifetime_value": {"min": 300, "max": 300}}) is None


def test_lifetime_value_below_minimum() -> None:
    assert check({"lifetime_value": {"min": 301}}) == AudienceMiss(
        "lifetime_value", "lifetime value 300 is below 301"
    )


def test_lifetime_value_above_maximum() -> None:
    found = check({"lifetime_value": {"max": 299}})
    assert found is not None and found.detail == "lifetime value 300 is above 299"


@pytest.mark.parametrize("bounds", [{}, {"min": 10, "max": 5}, {"min": -1}])
def test_lifetime_value_range_must_make_sense(bounds: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        Audience.model_validate({"lifetime_value": bounds})


# where


@pytest.mark.parametrize(
    "condition",
    [
        {"field": "country", "eq": "IR"},
        {"field": "country", "ne": "CN"},
        {"field": "country", "in": ["IR", "AF"]},
        {"field": "country", "not_in": ["CN", "US"]},
        {"field": "order_count", "gt": 2},
        {"field": "order_count", "gte": 3},
        {"field": "order_count", "lt": 4},
        {"field": "order_count", "lte": 3},
        {"field": "order_count", "eq": 3},
        {"field": "lifetime_value", "gte": 299.5},
    ],
)
def test_each_operator_holds(condition: dict[str, object]) -> None:
    assert where(condition) is None


def test_a_failed_condition_names_itself_and_the_customers_value() -> None:
    assert where({"field": "country", "eq": "IR"}, {"field": "order_count", "gte": 5}) == (
        AudienceMiss("condition", "where #2: order_count gte 5 is not met: order_count is 3")
    )


def test_text_compares_ignoring_case_and_dash_or_underscore() -> None:
    assert where({"field": "locale", "eq": "FA-ir"}) is None


def test_language_is_the_locales_language() -> None:
    assert where({"field": "language", "in": ["fa", "ps"]}) is None


def test_stage_and_tier_are_those_of_the_day() -> None:
    assert where({"field": "stage", "eq": "repeat"}, {"field": "tier", "eq": "insider"}) is None


def test_segment_condition() -> None:
    assert where({"field": "segment", "in": ["loyal", "champions"]}) is None


def test_days_since_last_order() -> None:
    assert where({"field": "days_since_last_order", "eq": 10}) is None


def test_timezone_condition() -> None:
    assert where({"field": "timezone", "eq": "Asia/Tehran"}) is None


def test_age_on_the_day() -> None:
    person = customer(birthday=date(2000, 3, 22))
    assert where({"field": "age", "eq": 26}, person=person) is None  # 27 tomorrow


def test_age_of_a_leap_day_birthday_turns_on_28_february() -> None:
    rules = Audience.model_validate({"where": [{"field": "age", "gte": 18}]})
    person = customer(birthday=date(2008, 2, 29))
    assert audience_miss(rules, person, "repeat", "insider", day=date(2026, 2, 27)) is not None
    assert audience_miss(rules, person, "repeat", "insider", day=date(2026, 2, 28)) is None


def test_a_value_the_customer_lacks_never_meets_a_condition() -> None:
    found = where({"field": "country", "ne": "CN"}, person=customer(country=None))
    assert found is not None and found.detail.endswith("country is unknown")


def test_no_age_without_a_birthday() -> None:
    assert where({"field": "age", "lt": 200}, person=customer(birthday=None)) is not None


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"field": "country"}, "exactly one operator"),
        ({"field": "country", "eq": "IR", "ne": "CN"}, "found: eq, ne"),
        ({"field": "country", "gt": 3}, "gt compares numbers"),
        ({"field": "order_count", "eq": "three"}, "order_count is a number"),
        ({"field": "country", "eq": 98}, "country is text"),
        ({"field": "stage", "eq": "vip"}, "unknown stage 'vip'"),
        ({"field": "segment", "in": ["whales"]}, "unknown segment 'whales'"),
        ({"field": "country", "eq": False}, "put the value in quotes"),
        ({"field": "email", "eq": "a@b.c"}, "field"),
        ({"field": "country", "like": "I%"}, "like"),
    ],
)
def test_invalid_conditions_are_refused(condition: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Audience.model_validate({"where": [condition]})


# through the campaign loader: FILE:LINE


HEADER = "name: T\ntrigger: {type: birthday}\ntopic: offers\nchannels: [email]\naudience:\n"


def load_problems(tmp_path: Path, audience: str) -> list[str]:
    path = tmp_path / "t.yaml"
    path.write_text(HEADER + audience, encoding="utf-8")
    with pytest.raises(CampaignError) as raised:
        load_campaign(path, Settings(), "t.yaml")
    return [str(p) for p in raised.value.problems]


def test_norway_unquoted_is_reported_at_its_line(tmp_path: Path) -> None:
    problems = load_problems(tmp_path, "  where:\n    - field: country\n      eq: NO\n")
    assert len(problems) == 1 and problems[0].startswith("t.yaml:7: audience.where.0")
    assert "quotes" in problems[0]


def test_condition_with_two_operators_is_reported_at_its_line(tmp_path: Path) -> None:
    problems = load_problems(
        tmp_path, "  where:\n    - {field: age, gte: 18}\n    - {field: age, lt: 30, gt: 1}\n"
    )
    assert len(problems) == 1 and problems[0].startswith("t.yaml:8: audience.where.1")


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("{field: tier, eq: gold}", "t.yaml:7: audience.where.0.eq: unknown tier 'gold'"),
        ("{field: country, in: [IR, Iran]}", "t.yaml:7: audience.where.0.in: 'Iran' is not an ISO"),
        ("{field: locale, eq: xx_YY}", "t.yaml:7: audience.where.0.eq: unknown locale 'xx_YY'"),
    ],
)
def test_condition_values_are_checked_against_configuration(
    tmp_path: Path, condition: str, message: str
) -> None:
    problems = load_problems(tmp_path, f"  where:\n    - {condition}\n")
    assert len(problems) == 1 and problems[0].startswith(message)


def test_unknown_rfm_segment_is_reported_at_its_line(tmp_path: Path) -> None:
    problems = load_problems(tmp_path, "  rfm_segments: [champions, whales]\n")
    assert len(problems) == 1 and problems[0].startswith("t.yaml:6: audience.rfm_segments.1")
