"""Which customers a planning run needs to read at all: a pre-filter in SQL.

A tick that has little to do (a few birthdays and reorder nudges, or the same tick
again) must not read every customer, their consent and their orders only for the
planner to answer "no occasion" for nearly all of them. :func:`candidate_clause`
turns the run's campaigns into one boolean clause over the ``customer`` table that
keeps a *superset* of the customers the planner could select (or hold out) that day:
per campaign, the trigger's occasion written as a date condition, and the consent the
campaign needs. A customer the clause leaves out would only get decisions such as
``no_occasion``, ``no_consent``, ``paused`` or ``not_active``, none of which plans or
records anything, so the planner run on the rest plans exactly what it plans on
everyone (``tests/engine/planning/test_prefilter.py`` checks this on SQLite and PostgreSQL).

The clause errs towards reading too many: it ignores the audience, addresses,
windows and caps, and where a trigger's occasion depends on data SQL cannot see
cheaply (a learned reorder rhythm) it keeps everyone who could have it at all.

Time zones: stored instants (``created_at``, ``ordered_at``) are naive UTC, but the
triggers compare the customer's *local* date. Every zone's offset, historical local
mean time included, is less than 24 hours, so an instant's local date is its UTC date
or the day before or after; an instant falls on local date ``d`` somewhere on Earth
only if it lies in ``[d-1 00:00, d+2 00:00)`` UTC, and that is the range used. Bounds
are whole UTC midnights, so they compare correctly against timestamps stored as text
on SQLite whatever their date/time separator. Birthdays are plain dates, local by
definition, and are matched exactly.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import holidays
from sqlalchemy import ColumnElement, and_, exists, extract, false, func, or_, true

from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.models import (
    CONSENT_STATE,
    CUSTOMER,
    ORDERS,
    ConsentStatus,
)
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.planning.planner import history_cutoff
from rapport.engine.triggers import Occasion, find_occasion
from rapport.engine.triggers.models import (
    AnniversaryTrigger,
    BirthdayTrigger,
    FeedbackTrigger,
    HolidayTrigger,
    RecurringTrigger,
    ReorderTrigger,
    TierReachedTrigger,
    WelcomeTrigger,
    WinbackTrigger,
)

__all__ = ["candidate_clause"]


#: Who a campaign's trigger can reach on the day: a clause, or ``True`` (anyone, as
#: far as SQL can tell) or ``False`` (nobody).
Reach = ColumnElement[bool] | bool


def candidate_clause(
    campaigns: Sequence[Campaign],
    day: date,
    now: datetime,
    settings: Settings,
    *,
    consent: bool = True,
) -> ColumnElement[bool] | None:
    """A clause over ``customer`` keeping everyone the planner could select for any of
    ``campaigns`` on ``day`` at ``now``; None means "read everyone".

    Paused campaigns and campaigns not active on ``day`` select nobody and add
    nothing; with no campaign left the clause is ``false()``. With ``consent`` (the
    default) each campaign also requires a granted ``consent_state`` row for its topic
    on one of its channels, exactly the planner's own consent test, so even a
    campaign that can reach anyone (a recurring date, a holiday) narrows the read to
    those who may hear from it. Without ``consent``, such a campaign makes the whole
    result None.

    The clause correlates with ``customer``: use it in ``select(...)`` over that table.
    """
    cutoff = history_cutoff(day, now)
    # Campaigns asking the same consent share one EXISTS: (topic, channels) -> reaches.
    by_consent: dict[tuple[str, tuple[str, ...]], list[Reach]] = {}
    for campaign in campaigns:
        if not _active(campaign, day):
            continue
        reach = _reach(campaign, day, cutoff, settings)
        if reach is False:
            continue
        key = (campaign.topic, tuple(sorted(set(campaign.channels))))
        by_consent.setdefault(key, []).append(reach)
    if not consent:
        reaches = [reach for group in by_consent.values() for reach in group]
        if any(reach is True for reach in reaches):
            return None
        return _any(reaches)
    parts: list[Reach] = []
    for (topic, channels), reaches in by_consent.items():
        granted = _granted(topic, channels)
        if any(reach is True for reach in reaches):
            parts.append(granted)
        else:
            # The date condition first: it is cheap and rejects most rows, so the
            # EXISTS runs only for the few left.
            parts.append(and_(_any(reaches), granted))
    return _any(parts)


def _active(campaign: Campaign, day: date) -> bool:
    """Mirrors the planner's first checks: paused or out-of-dates campaigns select nobody."""
    if campaign.paused:
        return False
    if campaign.starts_on and day < campaign.starts_on:
        return False
    return not (campaign.ends_on and day > campaign.ends_on)


def _any(reaches: Sequence[Reach]) -> ColumnElement[bool]:
    """One clause for "any of these": ``false()`` for none."""
    clauses = [true() if r is True else r for r in reaches if r is not False]
    if not clauses:
        return false()
    return or_(*clauses) if len(clauses) > 1 else clauses[0]


def _granted(topic: str, channels: tuple[str, ...]) -> ColumnElement[bool]:
    """The planner's consent test: ``(channel, topic)`` granted for one of the channels."""
    return exists().where(
        CONSENT_STATE.c.customer_id == CUSTOMER.c.id,
        CONSENT_STATE.c.status == ConsentStatus.GRANTED.value,
        CONSENT_STATE.c.topic == topic,
        CONSENT_STATE.c.channel.in_(channels),
    )


# -- dates --------------------------------------------------------------------------------


def _midnight(day: date, shift: int) -> datetime | None:
    """UTC midnight ``shift`` days after ``day``; None past the calendar's ends."""
    try:
        return datetime.combine(day + timedelta(days=shift), time(0), tzinfo=UTC)
    except OverflowError:
        return None


def _on_local_days(column: Any, first: date, last: date) -> ColumnElement[bool]:
    """Instants (UTC) that fall on a local date in ``[first, last]`` in some time zone."""
    conditions = []
    start, end = _midnight(first, -1), _midnight(last, 2)
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return and_(*conditions) if conditions else column.is_not(None)


def _month_day(column: Any) -> ColumnElement[Any]:
    """``month * 100 + day`` of a date or timestamp; EXTRACT compiles on SQLite (to
    strftime, which reads the stored text) and on PostgreSQL alike."""
    return extract("month", column) * 100 + extract("day", column)


def _key(day: date) -> int:
    return day.month * 100 + day.day


def _same_day_keys(target: date) -> set[int]:
    """Month-days whose anniversary falls on ``target`` (see ``occasions.same_day_in``):
    its own, and 29 February on 28 February of a year without one."""
    keys = {_key(target)}
    if (target.month, target.day) == (2, 28) and not calendar.isleap(target.year):
        keys.add(229)
    return keys


def _neighbour_keys(keys: set[int]) -> set[int]:
    """Month-days one day either side of ``keys``, in leap and common years alike, for
    UTC dates whose local date may be a day off."""
    found: set[int] = set()
    for key in keys:
        month, day_of_month = divmod(key, 100)
        for year in (2023, 2024):  # a common year and a leap year
            try:
                local = date(year, month, day_of_month)
            except ValueError:
                continue  # 29 February in the common year
            found.update(_key(local + timedelta(days=shift)) for shift in (-1, 0, 1))
    return found


# -- triggers -------------------------------------------------------------------------------


def _ordered(cutoff: datetime, *conditions: Any) -> ColumnElement[bool]:
    """The customer has an order matching ``conditions`` among those the planner reads
    (placed by ``cutoff``, as in ``profiles.iter_profile_batches``)."""
    return exists().where(
        ORDERS.c.customer_id == CUSTOMER.c.id, ORDERS.c.ordered_at <= cutoff, *conditions
    )


def _birthday(trigger: BirthdayTrigger, day: date, cutoff: datetime, settings: Settings) -> Reach:
    """Exact: the birthday's month-day falls on the target day, born in an earlier year."""
    target = day + timedelta(days=trigger.days_before - trigger.days_after)
    birthday = CUSTOMER.c.birthday
    return and_(
        _month_day(birthday).in_(sorted(_same_day_keys(target))),
        birthday < date(target.year, 1, 1),
    )


def _anniversary(
    trigger: AnniversaryTrigger, day: date, cutoff: datetime, settings: Settings
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
        _month_day(created).in_(sorted(_neighbour_keys(_same_day_keys(day))))
    ]
    end = _midnight(date(latest, 12, 31), 2)
    if end is not None:
        conditions.append(created < end)
    if trigger.years:
        earliest = day.year - max(trigger.years)
        start = _midnight(date(earliest, 1, 1), -1) if earliest >= 1 else None
        if start is not None:
            conditions.append(created >= start)
    return and_(*conditions)


def _holiday(trigger: HolidayTrigger, day: date, cutoff: datetime, settings: Settings) -> Reach:
    """Every country is asked through the trigger itself (it reads only the country):
    customers of a country known to have no occasion are left out, everyone else is
    kept (a country missing from the list, or written oddly, still reaches the planner,
    which finds no calendar)."""
    probe = Campaign(id="prefilter", name="prefilter", trigger=trigger, topic="-", channels=["-"])
    misses = [code for code in _country_codes() if not _holiday_in(probe, code, day, settings)]
    return func.upper(CUSTOMER.c.country).not_in(misses)


def _holiday_in(probe: Campaign, country: str, day: date, settings: Settings) -> bool:
    customer = CustomerProfile(id="", locale="en", timezone="UTC", country=country)
    try:
        return isinstance(find_occasion(probe, customer, day, settings), Occasion)
    except Exception:  # a calendar that fails here fails in the planner: keep its customers
        return True


@lru_cache(maxsize=1)
def _country_codes() -> tuple[str, ...]:
    """The two-letter codes the holiday package knows (the column holds two letters)."""
    return tuple(sorted(code for code in holidays.list_supported_countries() if len(code) == 2))


def _recurring(trigger: RecurringTrigger, day: date, cutoff: datetime, settings: Settings) -> Reach:
    """Exact: the cron expression matches the date or it does not, for everyone."""
    return trigger.schedule.matches(day)


def _reorder(trigger: ReorderTrigger, day: date, cutoff: datetime, settings: Settings) -> Reach:
    """The last order of a SKU plus its interval is the day, so some order of that SKU
    falls on ``day - interval`` (local). A learned interval is the customer's own
    median gap, unknown to SQL: then any order of a covered SKU keeps the customer."""
    sku = ORDERS.c.sku
    listed = sorted(trigger.skus)
    if trigger.learn:
        if trigger.days_after is None and listed:
            return _ordered(cutoff, sku.in_(listed))
        return _ordered(cutoff)
    by_interval: dict[int, list[str]] = {}
    for name, interval in trigger.skus.items():
        by_interval.setdefault(interval, []).append(name)
    windows = [
        and_(sku.in_(sorted(names)), _on_local_days(ORDERS.c.ordered_at, last, last))
        for interval, names in sorted(by_interval.items())
        if (last := _days_before(day, interval)) is not None
    ]
    last = _days_before(day, trigger.days_after) if trigger.days_after is not None else None
    if last is not None:
        window = _on_local_days(ORDERS.c.ordered_at, last, last)
        windows.append(and_(sku.not_in(listed), window) if listed else window)
    if not windows:
        return False
    return _ordered(cutoff, or_(*windows))


def _days_before(day: date, days: int) -> date | None:
    try:
        return day - timedelta(days=days)
    except OverflowError:
        return None


def _welcome(trigger: WelcomeTrigger, day: date, cutoff: datetime, settings: Settings) -> Reach:
    """Signed up, or first ordered, on local ``day - days_after``: an instant then."""
    since = _days_before(day, trigger.days_after)
    if since is None:
        return False
    if trigger.after == "signup":
        return _on_local_days(CUSTOMER.c.created_at, since, since)
    return _ordered(cutoff, _on_local_days(ORDERS.c.ordered_at, since, since))


def _winback(trigger: WinbackTrigger, day: date, cutoff: datetime, settings: Settings) -> Reach:
    """The last order falls on local ``day - days_without_order``: an order then."""
    last = _days_before(day, trigger.days_without_order)
    if last is None:
        return False
    return _ordered(cutoff, _on_local_days(ORDERS.c.ordered_at, last, last))


def _tier_reached(
    trigger: TierReachedTrigger, day: date, cutoff: datetime, settings: Settings
) -> Reach:
    """Trailing 12-month spend changes from the day before only by the orders of the
    day (added) and of the day 365 days earlier (aged out): a rise needs one of them."""
    windows = [_on_local_days(ORDERS.c.ordered_at, day, day)]
    if (aged := _days_before(day, 365)) is not None:
        windows.append(_on_local_days(ORDERS.c.ordered_at, aged, aged))
    return _ordered(cutoff, or_(*windows))


def _feedback(trigger: FeedbackTrigger, day: date, cutoff: datetime, settings: Settings) -> Reach:
    """An order on local ``day - days_after_order``."""
    ordered = _days_before(day, trigger.days_after_order)
    if ordered is None:
        return False
    return _ordered(cutoff, _on_local_days(ORDERS.c.ordered_at, ordered, ordered))


_REACHES: dict[type, Callable[[Any, date, datetime, Settings], Reach]] = {
    BirthdayTrigger: _birthday,
    AnniversaryTrigger: _anniversary,
    HolidayTrigger: _holiday,
    RecurringTrigger: _recurring,
    ReorderTrigger: _reorder,
    WelcomeTrigger: _welcome,
    WinbackTrigger: _winback,
    TierReachedTrigger: _tier_reached,
    FeedbackTrigger: _feedback,
}


def _reach(campaign: Campaign, day: date, cutoff: datetime, settings: Settings) -> Reach:
    """Who the campaign's trigger can reach; a trigger type without a rule here reaches
    anyone, so a new type is read in full until someone writes its clause."""
    rule = _REACHES.get(type(campaign.trigger))
    if rule is None:
        return True
    return rule(campaign.trigger, day, cutoff, settings)
