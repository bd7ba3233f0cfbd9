"""Triggers on the calendar: birthday, sign-up anniversary, public holiday, cron date.

Each finder answers for one customer on their own local ``day`` from plain data;
missing data (no birthday, no calendar for the country) is no occasion, not an error.
Beside each finder, its pre-filter clause (``*_reach``): who in the ``customer``
table the finder could find an occasion for on that day, as SQL, at least.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays
from sqlalchemy import ColumnElement, and_, func

from rapport.engine.core.config import TierConfig
from rapport.engine.core.models import CUSTOMER
from rapport.engine.core.timeutil import local_date
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.triggers import sql
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
from rapport.engine.triggers.sql import Reach


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


# -- pre-filter clauses (see rapport.engine.triggers.sql) ----------------------------------


def birthday_reach(
    trigger: BirthdayTrigger, day: date, cutoff: datetime, tiers: TierConfig
) -> Reach:
    """Exact: the birthday's month-day falls on the target day, born in an earlier year."""
    target = day + timedelta(days=trigger.days_before - trigger.days_after)
    birthday = CUSTOMER.c.birthday
    return and_(
        sql.month_day(birthday).in_(sorted(sql.same_day_keys(target))),
        birthday < date(target.year, 1, 1),
    )


def anniversary_reach(
    trigger: AnniversaryTrigger, day: date, cutoff: datetime, tiers: TierConfig
) -> Reach:
    """The local sign-up date's month-day is the day's (or 29 February for 28 February),
    so the UTC ``created_at`` is within a day of it, in a year that gives a wanted
    anniversary (at least the first)."""
    years = trigger.years or [1]
    latest = day.year - min(years)  # the latest local sign-up year that qualifies
    if latest < 1:
        return False
    created = CUSTOMER.c.created_at
    conditions: list[ColumnElement[bool]] = [
        sql.month_day(created).in_(sorted(sql.neighbour_keys(sql.same_day_keys(day))))
    ]
    end = sql.midnight(date(latest, 12, 31), 2)
    if end is not None:
        conditions.append(created < end)
    if trigger.years:
        earliest = day.year - max(trigger.years)
        start = sql.midnight(date(earliest, 1, 1), -1) if earliest >= 1 else None
        if start is not None:
            conditions.append(created >= start)
    return and_(*conditions)


def holiday_reach(trigger: HolidayTrigger, day: date, cutoff: datetime, tiers: TierConfig) -> Reach:
    """Every country is asked through the trigger itself (it reads only the country):
    customers of a country known to have no occasion are left out, everyone else is
    kept (a country missing from the list, or written oddly, still reaches the planner,
    which finds no calendar)."""
    misses = [code for code in _country_codes() if not _holiday_in(trigger, code, day, tiers)]
    return func.upper(CUSTOMER.c.country).not_in(misses)


def _holiday_in(trigger: HolidayTrigger, country: str, day: date, tiers: TierConfig) -> bool:
    customer = CustomerProfile(id="", locale="en", timezone="UTC", country=country)
    try:
        return isinstance(holiday(trigger, customer, day, tiers), Occasion)
    except Exception:  # a calendar that fails here fails in the planner: keep its customers
        return True


@lru_cache(maxsize=1)
def _country_codes() -> tuple[str, ...]:
    """The two-letter codes the holiday package knows (the column holds two letters)."""
    return tuple(sorted(code for code in holidays.list_supported_countries() if len(code) == 2))


def recurring_reach(
    trigger: RecurringTrigger, day: date, cutoff: datetime, tiers: TierConfig
) -> Reach:
    """Exact: the cron expression matches the date or it does not, for everyone."""
    return trigger.schedule.matches(day)
