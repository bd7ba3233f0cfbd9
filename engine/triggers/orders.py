"""Triggers that follow the customer's orders: reorder, welcome, win-back, tier
reached and feedback.

Each is a pure function of the trigger, the customer's profile and order history,
and one local date; the history has already been cut off at the planned day, so a
past date sees the customer as they were then. See :mod:`rapport.engine.triggers`.
"""

from __future__ import annotations

import itertools
import math
import statistics
from datetime import date, timedelta
from typing import TYPE_CHECKING

from rapport.engine.core.config import TierConfig
from rapport.engine.core.timeutil import local_date
from rapport.engine.customers.lifecycle import OrderHistory, tier_of
from rapport.engine.triggers.models import (
    FeedbackTrigger,
    ReorderTrigger,
    TierReachedTrigger,
    WelcomeTrigger,
    WinbackTrigger,
)
from rapport.engine.triggers.occasions import NO_OCCASION, Miss, Occasion, no_occasion

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
        if local_date(customer.created_at, customer.timezone) != since:
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
    )
