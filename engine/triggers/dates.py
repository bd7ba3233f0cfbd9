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
from rapport.engine.triggers.calendars import (
    before_its_feast,
    celebrated_on,
    has_calendar,
    supported_categories,
)
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
from rapport.engine.triggers.tones import is_eve, is_substitute, tone_of


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
    signed_up = local_date(customer.created_at, customer.timezone, customer.id, "created_at")
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
    names = _holidays(country, target, trigger)
    if not names:
        return NO_OCCASION
    wanted, why_not = _wanted(trigger, country, target, names)
    if wanted is None:
        return no_occasion(why_not)
    earlier = _earlier_in_run(trigger, country, target)
    if earlier is not None:
        first_day, first_name = earlier
        return no_occasion(
            f"{wanted} continues a holiday that began before {target.isoformat()}: "
            f"adjacent holiday days are one occasion, {first_name} on "
            f"{first_day.isoformat()} (one message per run of holidays)"
        )
    tone = tone_of(country, wanted)
    return Occasion(
        "holiday",
        f"holiday:{wanted}:{target.isoformat()}",
        target,
        name=wanted,
        names=_greeted_with(trigger, country, target, names, wanted, tone),
        tone=tone,
    )


#: How far back a run of adjacent holiday days is followed (the longest, the Spring
#: Festival with its substituted rest days, spans about ten).
_LONGEST_RUN = 21


def _holidays(country: str, day: date, trigger: HolidayTrigger) -> list[str]:
    """The holidays of the trigger's categories on ``day``, substituted rest days
    ("Day off (substituted from ...)") left out: they are never occasions."""
    return [n for n in celebrated_on(country, day, trigger.categories) if not is_substitute(n)]


def _wanted(
    trigger: HolidayTrigger, country: str, day: date, names: list[str]
) -> tuple[str | None, str]:
    """The first of the day's holidays this campaign wants, or None and why not.

    A day that holds a mourning holiday is no day for any other tone: on 4 June 2026
    Eid al-Ghadir falls on the anniversary of Khomeini's death, and gets no greeting.
    """
    mourned = [n for n in names if tone_of(country, n) == "mourning"]
    if mourned and "mourning" not in trigger.tones:
        return None, (
            f"{mourned[0]} is a day of mourning in {country.upper()}: "
            "no greeting and no offer on it"
        )
    reasons = []
    for name in names:
        selector = _selector(trigger, name)
        if selector is None:
            continue
        tone = tone_of(country, name)
        if tone not in trigger.tones:
            reasons.append(f"{name} is a day of {tone}, not {' or '.join(trigger.tones)}")
            continue
        if before_its_feast(country, day, name):
            reasons.append(f"{name} on {day.isoformat()} comes before the first day of the Eid")
            continue
        if is_eve(country, name) and not trigger.names:
            reasons.append(f"{name} is the eve of the holiday that follows it")
            continue
        return name, ""
    return None, "; ".join(reasons)


def _greeted_with(
    trigger: HolidayTrigger, country: str, day: date, names: list[str], wanted: str, tone: str
) -> tuple[str, ...]:
    """``wanted`` and the day's other holidays this campaign wants in the same tone: the
    one message of the day names them all (Nowruz beside Eid al-Fitr on 21 March 2026,
    the Mid-Autumn Festival beside National Day on 1 October 2020)."""
    others = [
        name
        for name in names
        if name != wanted
        and _selector(trigger, name) is not None
        and tone_of(country, name) == tone
        and (trigger.names or not is_eve(country, name))
        and not before_its_feast(country, day, name)
    ]
    return (wanted, *others)


def _earlier_in_run(trigger: HolidayTrigger, country: str, target: date) -> tuple[date, str] | None:
    """The first earlier day of ``target``'s run of adjacent holiday days that this
    campaign wants a holiday of, if any: that day is the run's one occasion.

    Substituted rest days belong to the run (they join 春节 to the days off after it)
    but are never wanted themselves.
    """
    run: list[tuple[date, list[str]]] = []
    day = target - timedelta(days=1)
    for _ in range(_LONGEST_RUN):
        every = celebrated_on(country, day, trigger.categories)
        if not every:
            break
        run.append((day, [n for n in every if not is_substitute(n)]))
        day -= timedelta(days=1)
    for earlier, names in reversed(run):
        wanted, _ = _wanted(trigger, country, earlier, names) if names else (None, "")
        if wanted is not None:
            return earlier, wanted
    return None


def _selector(trigger: HolidayTrigger, name: str) -> str | None:
    """What selects a holiday: the first ``names`` entry found in its name, or, without
    ``names``, the name itself; None when the campaign does not want it."""
    if not trigger.names:
        return name
    folded = name.casefold()
    return next((w.casefold() for w in trigger.names if w.casefold() in folded), None)


def recurring(
    trigger: RecurringTrigger, customer: CustomerProfile, day: date, tiers: TierConfig
) -> Occasion | Miss:
    if not trigger.schedule.matches(day):
        return NO_OCCASION
    return _recurring_on(day)


@lru_cache(maxsize=64)
def _recurring_on(day: date) -> Occasion:
    """The one (frozen) occasion of a cron date, shared by every customer it finds:
    a broadcast asks once per customer, for the same day."""
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
