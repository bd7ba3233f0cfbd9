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

Money: tiers and RFM count in the tier base currency (``OrderLine.amount``); what a
customer is shown is in *their* currency (:func:`customer_currency`): their profile's
``currency`` if set, else the currency of most of their spend (ties: their latest
order's), else the base currency, and always one the configured rates can convert to.
:func:`spend_in` sums orders in that currency, converting the others through the
base currency; :func:`round_money` rounds to the currency's CLDR digits (IRR: 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Literal, get_args

from rapport.engine.core.config import STAGES, LifecycleConfig, TierConfig
from rapport.engine.core.timeutil import local_date

Stage = Literal["prospect", "first_time", "repeat", "loyal", "at_risk", "lapsed"]
assert set(STAGES) == set(get_args(Stage))


@dataclass(frozen=True)
class OrderLine:
    """One order as the planner and templates see it; ``amount`` in the base currency,
    ``paid`` in the order's own ``currency`` (None when only the base amount is known)."""

    id: str
    sku: str
    quantity: int
    amount: Decimal
    currency: str
    ordered_at: datetime
    #: The order's date in the customer's own time zone.
    day: date
    paid: Decimal | None = None


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
        return history_of(orders, as_of - timedelta(days=365))

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


def history_of(orders: Sequence[OrderLine], year_ago: datetime) -> OrderHistory:
    """:meth:`OrderHistory.from_orders` with the start of its 12 months given: built for
    every candidate with orders (a planning run reads hundreds of thousands), so the
    reader works the date out once a batch instead of once a customer.

    One pass over the lines instead of two sums and a loop, no sort of a single order,
    and the frozen instance filled without running its ``__init__`` (which sets each
    field through ``object.__setattr__``). The same values as the plain construction,
    added up in the same order.
    """
    if len(orders) > 1:
        lines = tuple(sorted(orders, key=_order_key))
    elif orders:
        lines = tuple(orders)
    else:
        return EMPTY_HISTORY
    last_by_sku: dict[str, date] = {}
    lifetime = spend = Decimal(0)
    for line in lines:
        last_by_sku[line.sku] = line.day
        lifetime += line.amount
        if line.ordered_at > year_ago:
            spend += line.amount
    made = object.__new__(OrderHistory)
    made.__dict__.update(
        order_count=len(lines),
        first_order_at=lines[0].ordered_at,
        last_order_at=lines[-1].ordered_at,
        lifetime_value=lifetime,
        spend_12m=spend,
        last_order_by_sku=last_by_sku,
        orders=lines,
    )
    return made


def _order_key(line: OrderLine) -> tuple[datetime, str]:
    return line.ordered_at, line.id


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
    rate = _rate(currency, config)
    return None if rate is None else amount * rate


def _rate(currency: str, config: TierConfig) -> Decimal | None:
    """Units of base currency per unit of ``currency``; the base currency is 1 even
    when the rates leave it out."""
    code = currency.upper()
    rate = config.rates.get(code)
    if rate is None and code == config.base_currency.upper():
        return Decimal(1)
    return rate


def from_base_currency(amount: Decimal, currency: str, config: TierConfig) -> Decimal | None:
    """An amount in the base currency, in ``currency``; ``None`` without a usable rate."""
    rate = _rate(currency, config)
    return None if not rate else amount / rate


def round_money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half up to ``currency``'s CLDR digits (USD 2, IRR 0, JPY 0)."""
    return amount.quantize(_smallest_unit(currency.upper()), ROUND_HALF_UP)


@lru_cache(maxsize=512)
def _smallest_unit(currency: str) -> Decimal:
    """0.01 for USD, 1 for IRR and JPY: CLDR's digits, read from Babel once per currency
    (its number data is imported where money is rounded, not by every command)."""
    from babel.numbers import get_currency_precision

    return Decimal(1).scaleb(-get_currency_precision(currency))


def customer_currency(
    preferred: str | None, orders: Sequence[OrderLine], config: TierConfig
) -> str:
    """The currency a customer is shown money in.

    ``preferred`` (the profile's ``currency`` column) when set; else the currency of
    most of their spend, compared in the base currency (a tie goes to the currency of
    the latest of the tied currencies' orders; ``orders`` are oldest first, as
    :class:`OrderHistory` keeps them); else the base currency. A currency the
    rates cannot convert is never chosen: the base currency is used instead (orders in
    it count as zero, as they do for tiers).
    """
    base = config.base_currency.upper()
    if preferred:
        return preferred.upper() if _rate(preferred, config) else base
    spend: dict[str, Decimal] = {}
    latest: dict[str, int] = {}
    for position, line in enumerate(orders):
        code = line.currency.upper()
        if not _rate(code, config):
            continue
        spend[code] = spend.get(code, Decimal(0)) + line.amount
        latest[code] = position
    if not spend:
        return base
    return max(spend, key=lambda code: (spend[code], latest[code]))


def amount_in(line: OrderLine, currency: str, config: TierConfig) -> Decimal:
    """One order's amount in ``currency``: as paid when it is the order's own currency,
    else converted from its base amount (zero without a rate)."""
    if line.paid is not None and line.currency.upper() == currency.upper():
        return line.paid
    converted = from_base_currency(line.amount, currency, config)
    return Decimal(0) if converted is None else converted


def spend_in(lines: Iterable[OrderLine], currency: str, config: TierConfig) -> Decimal:
    """The orders' total in ``currency``, rounded to its CLDR digits."""
    total = sum((amount_in(line, currency, config) for line in lines), Decimal(0))
    return round_money(total, currency)


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
