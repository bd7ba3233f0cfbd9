"""Triggers on the calendar: birthday, sign-up anniversary, public holiday, cron date.

Each finder answers for one customer on their own local ``day`` from plain data;
missing data (no birthday, no calendar for the country) is no occasion, not an error.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from rapport.engine.core.config import TierConfig
from rapport.engine.core.timeutil import local_date
from rapport.engine.triggers.calendars import celebrated_on, has_calendar, supported_categories
from rapport.engine.triggers.models import (
    AnniversaryTrigger,
    BirthdayTrigger,
    HolidayTrigger,
    RecurringTrigger,
)
from rapport.engine.triggers.occasions import (
    NO_CALENDAR,
    NO_OCCASION,
    Miss,
    Occasion,
    no_occasion,
    same_day_in,
)

if TYPE_CHECKING:
    from rapport.engine.customers.profile import CustomerProfile


def birthday(
    trigger: BirthdayTrigger, customer: CustomerProfile, day: date, tiers: TierConfig
) -> Occasion | Miss:
    if customer.birthday is None:
        return no_occasion("no birthday on file")
    target = day + timedelta(days=trigger.days_before - trigger.days_after)
    if target.year <= customer.birthday.year:
        return NO_OCCASION
    if same_day_in(target.year, customer.birthday) != target:
        return NO_OCCASION
    age = target.year - customer.birthday.year
    return Occasion("birthday", f"birthday:{target.year}", target, years=age)


def anniversary(
    trigger: AnniversaryTrigger, customer: CustomerProfile, day: date, tiers: TierConfig
) -> Occasion | Miss:
    if customer.created_at is None:
        return no_occasion("no sign-up date on file")
    signed_up = local_date(customer.created_at, customer.timezone)
    years = day.year - signed_up.year
    if years < 1 or same_day_in(day.year, signed_up) != day:
        return NO_OCCASION
    if trigger.years is not None and years not in trigger.years:
        return no_occasion(f"a {years}-year anniversary is not one of the targeted years")
    return Occasion("anniversary", f"anniversary:{day.year}", day, years=years)


def holiday(
    trigger: HolidayTrigger, customer: CustomerProfile, day: date, tiers: TierConfig
) -> Occasion | Miss:
    country = customer.country
    if not country or not has_calendar(country):
        return NO_CALENDAR
    if not set(trigger.categories) & supported_categories(country):
        offered = ", ".join(sorted(supported_categories(country)))
        return no_occasion(f"the {country.upper()} calendar has only {offered} holidays")
    target = day + timedelta(days=trigger.days_before)
    yesterday = celebrated_on(country, target - timedelta(days=1), trigger.categories)
    miss = NO_OCCASION
    for name in celebrated_on(country, target, trigger.categories):
        selector = _selector(trigger, name)
        if selector is None:
            continue
        if _under_way(trigger, selector, yesterday):
            miss = no_occasion(
                f"{name} continues a holiday that began before {target.isoformat()} "
                "(one message per holiday, on its first day)"
            )
            continue
        return Occasion("holiday", f"holiday:{name}:{target.isoformat()}", target, name=name)
    return miss


def _selector(trigger: HolidayTrigger, name: str) -> str | None:
    """What selects a holiday: the first ``names`` entry found in its name, or, without
    ``names``, the name itself; None when the campaign does not want it."""
    if not trigger.names:
        return name
    folded = name.casefold()
    return next((w.casefold() for w in trigger.names if w.casefold() in folded), None)


def _under_way(trigger: HolidayTrigger, selector: str, yesterday: list[str]) -> bool:
    """Whether the day before already had this holiday, so today is not its first day.

    With ``names``, any holiday of yesterday selected by the same entry counts
    ("Nowruz", then "Nowruz Holiday" for ``names: [Nowruz]``); without, the same name
    or one it extends ("Eid al-Fitr", then "Eid al-Fitr Holiday").
    """
    if trigger.names:
        return selector in {_selector(trigger, name) for name in yesterday}
    return any(selector == name or selector.startswith(name + " ") for name in yesterday)


def recurring(
    trigger: RecurringTrigger, customer: CustomerProfile, day: date, tiers: TierConfig
) -> Occasion | Miss:
    if not trigger.schedule.matches(day):
        return NO_OCCASION
    return Occasion("recurring", f"recurring:{day.isoformat()}", day)
