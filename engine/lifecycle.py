"""Lifecycle stage and loyalty tier, derived from order history on a given day.

Both are pure functions of the history and the day, recomputed when needed rather
than stored, so they can never be stale and tests can call them directly.

Stages (one per customer): ``prospect`` (never ordered), ``first_time`` (one order),
``repeat`` (two or more), ``loyal`` (at least ``loyal_min_orders``); a customer whose
last order is older than ``at_risk_days`` is ``at_risk`` and older than
``lapsed_days`` is ``lapsed``, whatever their count, because drifting away is what a
retention campaign must notice first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from rapport.engine.config import LifecycleConfig, TierConfig


@dataclass(frozen=True)
class OrderLine:
    """One order as the planner and templates see it; ``amount`` in the base currency."""

    id: str
    sku: str
    quantity: int
    amount: Decimal
    currency: str
    ordered_at: datetime
    #: The order's date in the customer's own time zone.
    day: date


@dataclass(frozen=True)
class OrderHistory:
    """A customer's orders, oldest first, with the summaries rules keep asking for.

    Amounts are in the tier base currency. Build it with :meth:`from_orders`; the
    summary fields can also be given directly, which tests of single rules do.
    """

    order_count: int = 0
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    lifetime_value: Decimal = Decimal(0)
    spend_12m: Decimal = Decimal(0)
    #: SKU -> date (in the customer's time zone) of their latest order of it.
    last_order_by_sku: Mapping[str, date] = field(default_factory=dict)
    orders: tuple[OrderLine, ...] = ()

    @classmethod
    def from_orders(cls, orders: Sequence[OrderLine], as_of: datetime) -> OrderHistory:
        lines = tuple(sorted(orders, key=lambda o: (o.ordered_at, o.id)))
        if not lines:
            return cls()
        year_ago = as_of - timedelta(days=365)
        last_by_sku: dict[str, date] = {}
        for line in lines:
            last_by_sku[line.sku] = line.day
        return cls(
            order_count=len(lines),
            first_order_at=lines[0].ordered_at,
            last_order_at=lines[-1].ordered_at,
            lifetime_value=sum((o.amount for o in lines), Decimal(0)),
            spend_12m=sum((o.amount for o in lines if o.ordered_at > year_ago), Decimal(0)),
            last_order_by_sku=last_by_sku,
            orders=lines,
        )

    def spend_between(self, start: datetime, end: datetime) -> Decimal:
        """Spend in ``(start, end]``; used to tell when a tier was reached."""
        return sum((o.amount for o in self.orders if start < o.ordered_at <= end), Decimal(0))


EMPTY_HISTORY = OrderHistory()


def stage_of(
    history: OrderHistory, last_order_day: date | None, today: date, config: LifecycleConfig
) -> str:
    """The customer's stage on ``today``; ``last_order_day`` is in their own time zone."""
    if history.order_count == 0 or last_order_day is None:
        return "prospect"
    idle = (today - last_order_day).days
    if idle > config.lapsed_days:
        return "lapsed"
    if idle > config.at_risk_days:
        return "at_risk"
    if history.order_count >= config.loyal_min_orders:
        return "loyal"
    if history.order_count >= 2:
        return "repeat"
    return "first_time"


def tier_of(spend_12m: Decimal, config: TierConfig) -> str:
    """The highest tier whose threshold the trailing 12-month spend reaches."""
    tier = config.levels[0].name
    for level in config.levels:
        if spend_12m >= level.min_spend:
            tier = level.name
    return tier


def to_base_currency(amount: Decimal, currency: str, config: TierConfig) -> Decimal | None:
    """Convert with the operator's rates; ``None`` when no rate is configured."""
    rate = config.rates.get(currency.upper())
    return None if rate is None else amount * rate
