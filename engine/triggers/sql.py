"""SQL building blocks for the triggers' pre-filter clauses (see
:mod:`rapport.engine.planning.prefilter`, which combines them).

Each trigger family writes, beside its finder, a clause over the ``customer`` table
that keeps a *superset* of the customers its finder could find an occasion for on a
day. These helpers turn local dates into UTC ranges and month-days, and ask whether a
customer has a matching order.

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
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, extract

from rapport.engine.core.models import CUSTOMER, ORDERS

#: Who a campaign's trigger can reach on the day: a clause, or ``True`` (anyone, as
#: far as SQL can tell) or ``False`` (nobody).
Reach = ColumnElement[bool] | bool


def midnight(day: date, shift: int) -> datetime | None:
    """UTC midnight ``shift`` days after ``day``; None past the calendar's ends."""
    try:
        return datetime.combine(day + timedelta(days=shift), time(0), tzinfo=UTC)
    except OverflowError:
        return None


def on_local_days(column: Any, first: date, last: date) -> ColumnElement[bool]:
    """Instants (UTC) that fall on a local date in ``[first, last]`` in some time zone."""
    conditions = []
    start, end = midnight(first, -1), midnight(last, 2)
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return and_(*conditions) if conditions else column.is_not(None)


def month_day(column: Any) -> ColumnElement[Any]:
    """``month * 100 + day`` of a date or timestamp; EXTRACT compiles on SQLite (to
    strftime, which reads the stored text) and on PostgreSQL alike."""
    return extract("month", column) * 100 + extract("day", column)


def month_day_key(day: date) -> int:
    """``month * 100 + day``, as :func:`month_day` computes it in SQL."""
    return day.month * 100 + day.day


def same_day_keys(target: date) -> set[int]:
    """Month-days whose anniversary falls on ``target`` (see ``occasions.same_day_in``):
    its own, and 29 February on 28 February of a year without one."""
    keys = {month_day_key(target)}
    if (target.month, target.day) == (2, 28) and not calendar.isleap(target.year):
        keys.add(229)
    return keys


def neighbour_keys(keys: set[int]) -> set[int]:
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
            found.update(month_day_key(local + timedelta(days=shift)) for shift in (-1, 0, 1))
    return found


def ordered(cutoff: datetime, *conditions: Any) -> ColumnElement[bool]:
    """The customer has an order matching ``conditions`` among those the planner reads
    (placed by ``cutoff``, as in ``profiles.iter_profile_batches``)."""
    return exists().where(
        ORDERS.c.customer_id == CUSTOMER.c.id, ORDERS.c.ordered_at <= cutoff, *conditions
    )


def days_before(day: date, days: int) -> date | None:
    try:
        return day - timedelta(days=days)
    except OverflowError:
        return None
