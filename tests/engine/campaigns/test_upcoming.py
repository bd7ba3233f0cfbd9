"""A campaign's next occasions, as ``/admin/campaigns`` lists them."""

from __future__ import annotations

from datetime import date

from factories import context_campaign, make_settings

from rapport.engine.campaigns.upcoming import (
    MAX_COUNTRIES,
    NextOccasion,
    next_occasions,
    trigger_rule,
)

SETTINGS = make_settings()
START = date(2026, 12, 6)


def test_a_recurring_campaign_lists_the_next_dates_its_cron_matches() -> None:
    campaign = context_campaign(type="recurring", cron="0 10 1 * *")
    found = next_occasions(campaign, SETTINGS, START)
    assert found.occasions == [
        NextOccasion(date(2027, 1, 1)),
        NextOccasion(date(2027, 2, 1)),
        NextOccasion(date(2027, 3, 1)),
    ]
    assert not found.per_customer


def test_a_holiday_campaign_lists_holidays_of_the_customers_countries_with_days_before() -> None:
    campaign = context_campaign(type="holiday", names=["Nowruz"], days_before=3)
    found = next_occasions(campaign, SETTINGS, START, ["ir", "US"])
    assert found.occasions[0] == NextOccasion(date(2027, 3, 18), "Nowruz (IR)")


def test_a_holiday_campaign_without_customer_countries_says_so() -> None:
    found = next_occasions(context_campaign(type="holiday"), SETTINGS, START, [])
    assert (found.occasions, found.note) == ([], "no customer with a country yet")


def test_a_campaign_on_each_customers_own_day_lists_its_rule_not_dates() -> None:
    found = next_occasions(context_campaign(type="birthday", days_before=3), SETTINGS, START)
    assert found.per_customer and found.occasions == []
    assert found.rule == "birthday (days_before: 3)"


def test_a_paused_or_ended_campaign_has_no_next_occasion() -> None:
    campaign = context_campaign(type="recurring", cron="0 10 1 * *")
    paused = campaign.model_copy(update={"paused": True})
    ended = campaign.model_copy(update={"ends_on": date(2027, 1, 31)})
    assert next_occasions(paused, SETTINGS, START).note == "paused"
    assert [o.day for o in next_occasions(ended, SETTINGS, START).occasions] == [date(2027, 1, 1)]


def test_only_the_first_countries_are_read() -> None:
    campaign = context_campaign(type="holiday")
    many = ["US", "GB", "FR", "DE", "IT", "ES", "NL", "BE", "IR"]
    found = next_occasions(campaign, SETTINGS, date(2027, 3, 20), many)
    assert len(many) > MAX_COUNTRIES
    assert all("(IR)" not in o.label for o in found.occasions)


def test_the_rule_is_written_as_yaml_flow_style() -> None:
    campaign = context_campaign(type="reorder", skus={"SERUM": 30}, days_after=45)
    assert trigger_rule(campaign) == "reorder (days_after: 45, skus: {SERUM: 30})"
