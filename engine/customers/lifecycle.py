"""Lifecycle stage and loyalty tier, derived from order history on a given day.

Both are pure functions of the history and the day, recomputed when needed rather
than stored, so they can never be stale and tests can call them directly.

Stages (one per customer): ``prospect`` (never ordered), ``first_time`` (one order),
``repeat`` (two or more), ``loyal`` (at least ``loyal_min_orders``); a customer whose
last order is older than ``at_risk_days`` is ``at_risk`` and older than
``lapsed_days`` is ``lapsed``, whatever their count, because drifting away is what a
retention campaign must notice first.

RFM (see :func:`rfm_of`) scores recency, frequency and monetary value 1-5 on fixed
thresholds and names the pattern as a segment (:func:`segment_of`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal, get_args

from rapport.engine.core.config import STAGES, LifecycleConfig, TierConfig
from rapport.engine.core.timeutil import local_date

Stage = Literal["prospect", "first_time", "repeat", "loyal", "at_risk", "lapsed"]
assert set(STAGES) == set(get_args(Stage))


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

    def spend_12m_on(self, day: date) -> Decimal:
        """Trailing 12-month spend at the end of local ``day``: orders of the 365 local
        days up to and including it."""
        start = day - timedelta(days=365)
        return sum((o.amount for o in self.orders if start < o.day <= day), Decimal(0))

    def last_order_day(self, timezone: str) -> date | None:
        """The local date of the latest order, in the customer's ``timezone``."""
        if self.orders:
            return max(o.day for o in self.orders)
        if self.last_order_at is None:
            return None
        return local_date(self.last_order_at, timezone)

    def first_order_day(self, timezone: str) -> date | None:
        if self.orders:
            return min(o.day for o in self.orders)
        if self.first_order_at is None:
            return None
        return local_date(self.first_order_at, timezone)


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


Segment = Literal[
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "at_risk",
    "cant_lose",
    "hibernating",
    "lost",
]
SEGMENTS: tuple[str, ...] = get_args(Segment)

#: Score 5 down to 2: days since the last order at most ... (older scores 1).
RECENCY_DAYS = (30, 90, 180, 365)
#: Score 5 down to 2: at least ... orders (a single order scores 1).
FREQUENCY_ORDERS = (10, 5, 3, 2)
#: Score 5 down to 2: lifetime value at least ... in the base currency (less scores 1).
MONETARY_VALUE = (Decimal(2500), Decimal(1000), Decimal(350), Decimal(100))


@dataclass(frozen=True)
class RFM:
    """Recency, frequency and monetary scores, each 1 (worst) to 5 (best)."""

    recency: int
    frequency: int
    monetary: int

    def __str__(self) -> str:
        return f"R{self.recency} F{self.frequency} M{self.monetary}"


def rfm_of(history: OrderHistory, last_order_day: date | None, today: date) -> RFM | None:
    """The customer's RFM scores on ``today``; ``None`` for someone who never ordered.

    ======  ===========================  ==============  ============================
    score   recency: days since last     frequency:      monetary: lifetime value
            order (local days)           orders          (base currency)
    ======  ===========================  ==============  ============================
    5       0-30                         10 or more      2500 or more
    4       31-90                        5-9             1000-2499.99
    3       91-180                       3-4             350-999.99
    2       181-365                      2               100-349.99
    1       over 365                     1               under 100
    ======  ===========================  ==============  ============================
    """
    if history.order_count == 0 or last_order_day is None:
        return None
    idle = (today - last_order_day).days
    recency = 5 - sum(idle > limit for limit in RECENCY_DAYS)
    frequency = 5 - sum(history.order_count < least for least in FREQUENCY_ORDERS)
    monetary = 5 - sum(history.lifetime_value < least for least in MONETARY_VALUE)
    return RFM(recency, frequency, monetary)


def segment_of(rfm: RFM) -> str:
    """The named segment of an RFM pattern: the first rule that matches.

    ===================  =====================================================
    segment              rule (R recency, F frequency, M monetary)
    ===================  =====================================================
    champions            R >= 4, F >= 4 and M >= 4
    loyal                R >= 3 and F >= 3
    new                  R = 5 and F = 1 (first order in the last 30 days)
    potential_loyalist   R >= 3 (recent, with one or two orders)
    cant_lose            R <= 2 and (F >= 4 or M >= 4): best customers, gone
    at_risk              R = 2 and F >= 2
    hibernating          R = 2 (one order, 6-12 months ago)
    lost                 R = 1 (nothing for over a year)
    ===================  =====================================================
    """
    r, f, m = rfm.recency, rfm.frequency, rfm.monetary
    if r >= 4 and f >= 4 and m >= 4:
        return "champions"
    if r >= 3 and f >= 3:
        return "loyal"
    if r == 5 and f == 1:
        return "new"
    if r >= 3:
        return "potential_loyalist"
    if f >= 4 or m >= 4:
        return "cant_lose"
    if r == 2 and f >= 2:
        return "at_risk"
    if r == 2:
        return "hibernating"
    return "lost"


def segment_for(history: OrderHistory, last_order_day: date | None, today: date) -> str | None:
    """The customer's RFM segment on ``today``, or None for someone who never ordered."""
    rfm = rfm_of(history, last_order_day, today)
    return segment_of(rfm) if rfm is not None else None
