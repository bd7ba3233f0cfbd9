"""Triggers: whether a campaign has an occasion for a customer on a day.

Each trigger type answers one question about one customer on one local date, from
plain data (profile, order history, calendars). The occasion's ``key`` names it
uniquely (``birthday:2027``, ``holiday:2027-03-21``, ``reorder:SKU:2027-02-19``), so the
outbox can refuse a second message for the same occasion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from rapport.engine.calendars import has_calendar, holidays_on
from rapport.engine.campaigns import (
    BirthdayTrigger,
    Campaign,
    HolidayTrigger,
    ReorderTrigger,
)

if TYPE_CHECKING:
    from rapport.engine.planner import CustomerProfile


@dataclass(frozen=True)
class Miss:
    """No occasion; ``code`` is the planner's reason code (``no_occasion``, ``no_calendar``)."""

    code: str


NO_OCCASION = Miss("no_occasion")
NO_CALENDAR = Miss("no_calendar")


@dataclass(frozen=True)
class Occasion:
    """What a message is about; ``key`` makes the idempotency key unique per occasion."""

    kind: str
    key: str
    date: date
    name: str | None = None
    sku: str | None = None
    last_ordered_at: date | None = None


def _birthday_in(year: int, birthday: date) -> date:
    """29 February is celebrated on 28 February in years without one."""
    try:
        return birthday.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def find_occasion(campaign: Campaign, customer: CustomerProfile, day: date) -> Occasion | Miss:
    """The occasion this campaign has for this customer on ``day``, or why there is none."""
    trigger = campaign.trigger
    if isinstance(trigger, BirthdayTrigger):
        if customer.birthday is None:
            return NO_OCCASION
        target = day + timedelta(days=trigger.days_before)
        if _birthday_in(target.year, customer.birthday) != target:
            return NO_OCCASION
        return Occasion("birthday", f"birthday:{target.year}", target)
    if isinstance(trigger, HolidayTrigger):
        if not has_calendar(customer.country):
            return NO_CALENDAR
        target = day + timedelta(days=trigger.days_before)
        names = holidays_on(customer.country, target)
        if trigger.names:
            wanted = [w.casefold() for w in trigger.names]
            names = [n for n in names if any(w in n.casefold() for w in wanted)]
        if not names:
            return NO_OCCASION
        return Occasion("holiday", f"holiday:{target.isoformat()}", target, name=names[0])
    if isinstance(trigger, ReorderTrigger):
        for sku in sorted(customer.history.last_order_by_sku):
            interval = trigger.interval_for(sku)
            last = customer.history.last_order_by_sku[sku]
            if interval is not None and last + timedelta(days=interval) == day:
                return Occasion(
                    "reorder",
                    f"reorder:{sku}:{last.isoformat()}",
                    day,
                    sku=sku,
                    last_ordered_at=last,
                )
        return NO_OCCASION
    raise TypeError(f"unhandled trigger {trigger!r}")  # a new trigger type needs a branch
