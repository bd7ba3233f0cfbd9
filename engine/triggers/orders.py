"""Triggers that follow the customer's orders: reorder, welcome, win-back, tier
reached and feedback.

Each is a pure function of the trigger, the customer's profile and order history,
and one local date; the history has already been cut off at the planned day, so a
past date sees the customer as they were then. See :mod:`rapport.engine.triggers`.
Beside each finder, its pre-filter clause (``*_reach``): who could have an occasion on
the day, as a condition on their orders in SQL (see :mod:`rapport.engine.triggers.sql`).
"""

from __future__ import annotations

import itertools
import math
import statistics
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_

from rapport.engine.core.config import TierConfig
from rapport.engine.core.models import CUSTOMER, ORDERS
from rapport.engine.core.timeutil import local_date
from rapport.engine.customers.lifecycle import OrderHistory, tier_of
from rapport.engine.triggers import sql
from rapport.engine.triggers.models import (
    FeedbackTrigger,
    ReorderTrigger,
    TierReachedTrigger,
    WelcomeTrigger,
    WinbackTrigger,
)
from rapport.engine.triggers.occasions import NO_OCCASION, Miss, Occasion, no_occasion
from rapport.engine.triggers.sql import Reach

if TYPE_CHECKING:
    from rapport.engine.customers.profile import CustomerProfile

NO_ORDERS = no_occasion("no orders yet")


def learned_interval(history: OrderHistory, sku: str) -> int | None:
    """The customer's median gap in days between orders of ``sku``, rounded to the
    nearest day (halves up); ``None`` until they have ordered it on two days."""
    days = sorted({o.day for o in history.orders if o.sku == sku})
    if len(days) < 2:
        return None
    gaps = [(later - earlier).days for earlier, later in itertools.pairwise(days)]
    return math.floor(statistics.median(gaps) + 0.5)


def reorder(
    trigger: ReorderTrigger, customer: CustomerProfile, day: date, tiers: TierConfig
) -> Occasion | Miss:
    history = customer.history
    if not history.last_order_by_sku:
        return NO_ORDERS
    for sku in sorted(history.last_order_by_sku):
        if not trigger.covers(sku):
            continue
        interval = learned_interval(history, sku) if trigger.learn else None
        if interval is None:
            interval = trigger.interval_for(sku)
        last = history.last_order_by_sku[sku]
        if interval is not None and last + timedelta(days=interval) == day:
            return Occasion(
                "reorder", f"reorder:{sku}:{last.isoformat()}", day, sku=sku, last_ordered_at=last
            )
    return NO_OCCASION


def welcome(
    trigger: WelcomeTrigger, customer: CustomerProfile, day: date, tiers: TierConfig
) -> Occasion | Miss:
    since = day - timedelta(days=trigger.days_after)
    if trigger.after == "signup":
        if customer.created_at is None:
            return no_occasion("no sign-up date on file")
        if local_date(customer.created_at, customer.timezone, customer.id, "created_at") != since:
            return NO_OCCASION
        return Occasion("welcome", "welcome:signup", day)
    history = customer.history
    first_day = history.first_order_day(customer.timezone)
    if first_day is None:
        return NO_ORDERS
    if first_day != since:
        return NO_OCCASION
    if not history.orders:  # a summary without order lines: no id to key by
        return Occasion(
            "welcome", f"welcome:first_order:{first_day}", day, last_ordered_at=first_day
        )
    first = history.orders[0]
    return Occasion(
        "welcome",
        f"welcome:{first.id}",
        day,
        sku=first.sku,
        last_ordered_at=first_day,
        order_id=first.id,
        also_keys=_same_day(history, "welcome", first_day, first.id),
    )


def winback(
    trigger: WinbackTrigger, customer: CustomerProfile, day: date, tiers: TierConfig
) -> Occasion | Miss:
    last = customer.history.last_order_day(customer.timezone)
    if last is None:
        return no_occasion("never ordered, so nothing to win back")
    if (day - last).days != trigger.days_without_order:
        return NO_OCCASION
    return Occasion("winback", f"winback:{last.isoformat()}", day, last_ordered_at=last)


def tier_reached(
    trigger: TierReachedTrigger, customer: CustomerProfile, day: date, tiers: TierConfig
) -> Occasion | Miss:
    history = customer.history
    if not history.orders:
        return NO_ORDERS
    names = [level.name for level in tiers.levels]
    before = names.index(tier_of(history.spend_12m_on(day - timedelta(days=1)), tiers))
    after = names.index(tier_of(history.spend_12m_on(day), tiers))
    if after <= before:
        return NO_OCCASION
    wanted = [names.index(t) for t in trigger.tiers or names if t in names]
    if not any(before < rank <= after for rank in wanted):
        return no_occasion(f"rose to {names[after]}, which is not a targeted tier")
    tier = names[after]
    return Occasion("tier_reached", f"tier:{tier}:{day.isoformat()}", day, tier=tier)


def feedback(
    trigger: FeedbackTrigger, customer: CustomerProfile, day: date, tiers: TierConfig
) -> Occasion | Miss:
    """About the first order of the day ``days_after_order`` ago: several order lines
    placed the same day get one request, not one each."""
    history = customer.history
    if not history.orders:
        return NO_ORDERS
    ordered = day - timedelta(days=trigger.days_after_order)
    order = next((o for o in history.orders if o.day == ordered), None)
    if order is None:
        return NO_OCCASION
    return Occasion(
        "feedback",
        f"feedback:{order.id}",
        day,
        sku=order.sku,
        last_ordered_at=ordered,
        order_id=order.id,
        also_keys=_same_day(history, "feedback", ordered, order.id),
    )


def _same_day(history: OrderHistory, kind: str, day: date, first: str) -> tuple[str, ...]:
    """The keys an occasion about the orders of ``day`` had when another of them came
    first: an order imported after the day was planned may have been placed earlier."""
    return tuple(f"{kind}:{o.id}" for o in history.orders if o.day == day and o.id != first)


# -- pre-filter clauses (see rapport.engine.triggers.sql) ----------------------------------


def reorder_reach(trigger: ReorderTrigger, day: date, cutoff: datetime, tiers: TierConfig) -> Reach:
    """The last order of a SKU plus its interval is the day, so some order of that SKU
    falls on ``day - interval`` (local). A learned interval is the customer's own
    median gap, unknown to SQL: then any order of a covered SKU keeps the customer."""
    sku = ORDERS.c.sku
    listed = sorted(trigger.skus)
    if trigger.learn:
        if trigger.days_after is None and listed:
            return sql.ordered(cutoff, sku.in_(listed))
        return sql.ordered(cutoff)
    by_interval: dict[int, list[str]] = {}
    for name, interval in trigger.skus.items():
        by_interval.setdefault(interval, []).append(name)
    windows = [
        and_(sku.in_(sorted(names)), sql.on_local_days(ORDERS.c.ordered_at, last, last))
        for interval, names in sorted(by_interval.items())
        if (last := sql.days_before(day, interval)) is not None
    ]
    last = sql.days_before(day, trigger.days_after) if trigger.days_after is not None else None
    if last is not None:
        window = sql.on_local_days(ORDERS.c.ordered_at, last, last)
        windows.append(and_(sku.not_in(listed), window) if listed else window)
    if not windows:
        return False
    return sql.ordered(cutoff, or_(*windows))


def welcome_reach(trigger: WelcomeTrigger, day: date, cutoff: datetime, tiers: TierConfig) -> Reach:
    """Signed up, or first ordered, on local ``day - days_after``: an instant then."""
    since = sql.days_before(day, trigger.days_after)
    if since is None:
        return False
    if trigger.after == "signup":
        return sql.on_local_days(CUSTOMER.c.created_at, since, since)
    return sql.ordered(cutoff, sql.on_local_days(ORDERS.c.ordered_at, since, since))


def winback_reach(trigger: WinbackTrigger, day: date, cutoff: datetime, tiers: TierConfig) -> Reach:
    """The last order falls on local ``day - days_without_order``: an order then."""
    last = sql.days_before(day, trigger.days_without_order)
    if last is None:
        return False
    return sql.ordered(cutoff, sql.on_local_days(ORDERS.c.ordered_at, last, last))


def tier_reached_reach(
    trigger: TierReachedTrigger, day: date, cutoff: datetime, tiers: TierConfig
) -> Reach:
    """Trailing 12-month spend changes from the day before only by the orders of the
    day (added) and of the day 365 days earlier (aged out): a rise needs one of them."""
    windows = [sql.on_local_days(ORDERS.c.ordered_at, day, day)]
    if (aged := sql.days_before(day, 365)) is not None:
        windows.append(sql.on_local_days(ORDERS.c.ordered_at, aged, aged))
    return sql.ordered(cutoff, or_(*windows))


def feedback_reach(
    trigger: FeedbackTrigger, day: date, cutoff: datetime, tiers: TierConfig
) -> Reach:
    """An order on local ``day - days_after_order``."""
    ordered = sql.days_before(day, trigger.days_after_order)
    if ordered is None:
        return False
    return sql.ordered(cutoff, sql.on_local_days(ORDERS.c.ordered_at, ordered, ordered))
