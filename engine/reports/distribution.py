"""The report's stages, tiers and RFM segments: every customer, one small summary at a time.

A stage, a tier and a segment need four things of a customer's orders up to the
period's end: how many, their lifetime value, their spend over the 365 local days up
to the period's last day, and the local day of the latest (engine/customers/lifecycle.py).
The planner's profile reader builds an order line per order, with the customer's
whole history, for a batch of thousands of customers at a time (hundreds of MB at
twenty orders a customer); here the orders stream through four running figures per
customer instead, read in pages of customers by id. Each order is counted exactly as
the planner counts it: its amount in the base currency (:func:`to_base_currency`,
none without a rate) and its date in the customer's time zone (UTC date when out of
range).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, type_coerce
from sqlalchemy.types import NullType

from rapport.engine.core.config import Settings
from rapport.engine.core.models import CUSTOMER, ORDERS
from rapport.engine.core.timeutil import local_date, out_of_range, zone
from rapport.engine.customers.lifecycle import (
    OrderHistory,
    segment_for,
    stage_of,
    tier_of,
    to_base_currency,
)
from rapport.engine.reports.period import Period

#: Customers per page; their orders stream in between.
PAGE = 2000

_SCALE = ORDERS.c.amount.type.scale  # type: ignore[attr-defined]


@dataclass
class _Summary:
    """What the rules ask of a customer's orders, counted one order at a time."""

    today: date
    count: int = 0
    lifetime: Decimal = Decimal(0)
    spend_12m: Decimal = Decimal(0)
    last_day: date | None = None


def _raw(column: Any) -> Any:
    # Read without SQLAlchemy's result types (text on SQLite): converted below, as
    # engine/customers/profiles.py does, at a fraction of the cost.
    return type_coerce(column, NullType()).label(column.name)


def _moment(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _amount(value: Decimal | float | int | str) -> Decimal:
    """As ``Numeric(18, 4)`` reads it: SQLite's number at the column's scale."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        return Decimal(value)
    return Decimal(f"{value:.{_SCALE}f}")


def _pages(connection: Connection, size: int) -> Any:
    last: str | None = None
    while True:
        query = select(CUSTOMER.c.id, CUSTOMER.c.timezone).order_by(CUSTOMER.c.id).limit(size)
        if last is not None:
            query = query.where(CUSTOMER.c.id > last)
        page = connection.execute(query).all()
        if not page:
            return
        yield page
        last = page[-1][0]


def _summaries(
    connection: Connection, settings: Settings, page: Any, as_of: datetime
) -> dict[str, _Summary]:
    zones = {customer_id: timezone for customer_id, timezone in page}
    found = {cid: _Summary(local_date(as_of, tz)) for cid, tz in zones.items()}
    rates: dict[str, Decimal | None] = {}
    query = select(
        _raw(ORDERS.c.customer_id),
        _raw(ORDERS.c.amount),
        _raw(ORDERS.c.currency),
        _raw(ORDERS.c.ordered_at),
    ).where(
        ORDERS.c.customer_id.between(page[0][0], page[-1][0]),
        ORDERS.c.ordered_at <= as_of,
    )
    for customer_id, amount, currency, ordered_at in connection.execute(
        query.execution_options(yield_per=PAGE)
    ):
        summary = found.get(customer_id)
        if summary is None:
            continue
        moment = _moment(ordered_at)
        if currency not in rates:
            rates[currency] = to_base_currency(Decimal(1), currency, settings.tiers)
        rate = rates[currency]
        value = Decimal(0) if rate is None else _amount(amount) * rate
        try:
            day = moment.astimezone(zone(zones[customer_id])).date()
        except OverflowError:
            day = moment.date()
            out_of_range(customer_id, "ordered_at")
        summary.count += 1
        summary.lifetime += value
        if summary.today - timedelta(days=365) < day <= summary.today:
            summary.spend_12m += value
        if summary.last_day is None or day > summary.last_day:
            summary.last_day = day
    return found


def distributions(connection: Connection, settings: Settings, period: Period) -> dict[str, Any]:
    """Every customer's lifecycle stage, tier and RFM segment on the period's last day
    (in their own time zone), counting orders up to the period's end."""
    as_of = period.finish - timedelta(microseconds=1)
    stages: Counter[str] = Counter()
    tiers: Counter[str] = Counter()
    segments: Counter[str] = Counter()
    for page in _pages(connection, PAGE):
        for summary in _summaries(connection, settings, page, as_of).values():
            history = OrderHistory(order_count=summary.count, lifetime_value=summary.lifetime)
            last, today = summary.last_day, summary.today
            stages[stage_of(history, last, today, settings.lifecycle)] += 1
            tiers[tier_of(summary.spend_12m, settings.tiers)] += 1
            segments[segment_for(history, last, today) or "none"] += 1
    return {
        "stages": dict(sorted(stages.items())),
        "tiers": dict(sorted(tiers.items())),
        "segments": dict(sorted(segments.items())),
    }
