"""The report's customer figures, counted in the database: memory does not grow with orders.

Every customer figure is a count of customers with orders in a few spans of time, or a
sum of order amounts over one span. One ``GROUP BY customer_id`` makes a row of flags
per customer (did they order in this span, how many times in the period, ...) and the
query around it counts the flags: the report receives one row, whatever the number of
orders or customers. Amounts are summed per currency, exactly (in ten-thousandths, the
column's scale, as whole numbers on SQLite as on PostgreSQL), then converted to the
base currency with the configured rates; cohorts are counted per (first-order month,
month ordered). The definitions are in docs/reports.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, select, type_coerce
from sqlalchemy.types import NullType

from rapport.engine.core.config import Settings
from rapport.engine.core.models import ORDERS
from rapport.engine.customers.lifecycle import to_base_currency
from rapport.engine.reports.period import Period, money, months, rate, ratio, utc_month
from rapport.engine.reports.retention import textbook

#: The predictive CLV assumes a customer stays at most this many years.
MAX_LIFESPAN_YEARS = 10.0

#: Amounts are Numeric(18, 4): summed as whole ten-thousandths, exactly.
_SCALE = 10_000


def _ordered(since: datetime | None = None, before: datetime | None = None) -> Any:
    """1 for an order in ``[since, before)``, else 0."""
    limits = [ORDERS.c.ordered_at >= since] if since is not None else []
    if before is not None:
        limits.append(ORDERS.c.ordered_at < before)
    return case((and_(*limits), 1), else_=0) if limits else literal(1)


def _total(value: Any) -> int:
    return 0 if value is None else int(value)


def _amounts(
    connection: Connection, settings: Settings, finish: datetime, spans: dict[str, datetime | None]
) -> dict[str, tuple[int, Decimal]]:
    """Per span name, the number of orders from its moment to ``finish`` and their
    amount in the base currency (an order in a currency without a rate counts as 0)."""
    units = type_coerce(func.round(ORDERS.c.amount * _SCALE), NullType())
    columns = []
    for name, since in spans.items():
        flag = _ordered(since)
        columns += [func.sum(flag).label(f"{name}_n"), func.sum(flag * units).label(name)]
    rows = connection.execute(
        select(ORDERS.c.currency, *columns)
        .where(ORDERS.c.ordered_at < finish)
        .group_by(ORDERS.c.currency)
    ).all()
    found = {name: (0, Decimal(0)) for name in spans}
    for row in rows:
        for name in spans:
            count, total = found[name]
            paid = Decimal(_total(row._mapping[name])) / _SCALE
            converted = to_base_currency(paid, row.currency, settings.tiers) or Decimal(0)
            found[name] = (count + _total(row._mapping[f"{name}_n"]), total + converted)
    return found


def customer_metrics(
    connection: Connection, settings: Settings, period: Period, active_days: int
) -> dict[str, Any]:
    """Retention, churn, repeat purchase and lifetime value over ``period``.

    - base: customers with an order in the ``active_days`` before the period;
    - retention rate: share of the base ordering again within the period;
    - churn rate: 1 - retention rate;
    - repeat purchase rate: of the customers ordering in the period, the share
      ordering at least twice in it;
    - historical CLV: revenue of all orders up to the period's end per customer with
      at least one such order;
    - textbook retention (E - N) / S and churn lost / S over the period: see
      :func:`textbook`;
    - predictive CLV: average order value x orders per customer per year x expected
      lifespan in years, all measured over the 365 days up to the period's end, with
      lifespan = 1 / annual churn, capped at ten years. The annual churn is the
      textbook churn (:func:`textbook`) over those 365 days with a 365-day activity
      window: the customers of the year before who did not order in the last year.
    """
    begin, finish = period.begin, period.finish
    year_ago = finish - timedelta(days=365)
    flags = (
        select(
            func.sum(_ordered(begin)).label("in_period"),
            func.max(_ordered(before=begin)).label("seen"),
            func.max(_ordered(begin - timedelta(days=active_days), begin)).label("at_start"),
            func.max(_ordered(finish - timedelta(days=active_days))).label("at_end"),
            func.max(_ordered(year_ago - timedelta(days=365), year_ago)).label("year_start"),
            func.max(_ordered(year_ago)).label("year_end"),
        )
        .where(ORDERS.c.ordered_at < finish)
        .group_by(ORDERS.c.customer_id)
        .subquery()
    )
    c = flags.c
    ordering = c.in_period > 0
    new = and_(ordering, c.seen == 0)

    def count(*conditions: Any) -> Any:
        return func.sum(case((and_(*conditions), 1), else_=0))

    row = connection.execute(
        select(
            func.count().label("buyers"),
            count(c.at_start == 1).label("base"),
            count(c.at_start == 1, ordering).label("retained"),
            count(ordering).label("ordering"),
            count(c.in_period >= 2).label("repeaters"),
            count(c.at_end == 1).label("at_end"),
            count(new).label("new"),
            count(c.at_start == 1, c.at_end == 0).label("lost"),
            count(c.at_end == 1, c.at_start == 0, ~new).label("returned"),
            count(c.year_start == 1).label("year_start"),
            count(c.year_start == 1, c.year_end == 0).label("year_lost"),
            count(c.year_end == 1).label("year_buyers"),
        ).select_from(flags)
    ).one()
    n = {key: _total(value) for key, value in row._mapping.items()}
    amounts = _amounts(
        connection, settings, finish, {"all": None, "period": begin, "year": year_ago}
    )
    orders, revenue = amounts["period"]
    year_orders, year_revenue = amounts["year"]
    retention = ratio(n["retained"], n["base"])
    annual_churn = ratio(n["year_lost"], n["year_start"])
    aov = ratio(float(year_revenue), year_orders)
    frequency = ratio(year_orders, n["year_buyers"])
    if annual_churn is None or annual_churn == 0:
        lifespan = MAX_LIFESPAN_YEARS
    else:
        lifespan = min(MAX_LIFESPAN_YEARS, 1 / annual_churn)
    predictive = None if aov is None or frequency is None else aov * frequency * lifespan
    total = amounts["all"][1]
    return {
        "active_days": active_days,
        "base_customers": n["base"],
        "retained_customers": n["retained"],
        "retention_rate": rate(retention),
        "churn_rate": rate(None if retention is None else 1 - retention),
        "ordering_customers": n["ordering"],
        "orders": orders,
        "revenue": money(float(revenue)),
        "repeat_customers": n["repeaters"],
        "repeat_purchase_rate": rate(ratio(n["repeaters"], n["ordering"])),
        "textbook": textbook(n["base"], n["at_end"], n["new"], n["lost"], n["returned"]),
        "clv_historical": money(float(total / n["buyers"])) if n["buyers"] else None,
        "clv_predictive": None if predictive is None else money(predictive),
        "clv_inputs": {
            "average_order_value": None if aov is None else money(aov),
            "orders_per_customer_year": rate(frequency),
            "annual_churn": rate(annual_churn),
            "annual_churn_customers_at_start": n["year_start"],
            "annual_churn_lost_customers": n["year_lost"],
            "lifespan_years": round(lifespan, 4),
        },
    }


def cohorts(connection: Connection, period: Period) -> list[dict[str, Any]]:
    """Monthly cohorts by first-order month (UTC), for the months of the period: for
    each later month up to the period's end, how many of the cohort ordered in it."""
    listed = months(period.start, period.end)
    first_month = period.begin.replace(day=1)
    first = (
        select(
            ORDERS.c.customer_id,
            utc_month(connection, func.min(ORDERS.c.ordered_at)).label("cohort"),
        )
        .where(ORDERS.c.ordered_at < period.finish)
        .group_by(ORDERS.c.customer_id)
        .having(func.min(ORDERS.c.ordered_at) >= first_month)
        .subquery()
    )
    active = (
        select(ORDERS.c.customer_id, utc_month(connection, ORDERS.c.ordered_at).label("month"))
        .where(ORDERS.c.ordered_at >= first_month, ORDERS.c.ordered_at < period.finish)
        .distinct()
        .subquery()
    )
    counts: dict[tuple[str, str], int] = {}
    for cohort, month, customers in connection.execute(
        select(first.c.cohort, active.c.month, func.count())
        .select_from(first.join(active, first.c.customer_id == active.c.customer_id))
        .group_by(first.c.cohort, active.c.month)
    ):
        counts[(cohort, month)] = int(customers)
    table = []
    for index, month in enumerate(listed):
        size = counts.get((month, month), 0)
        if not size:
            continue
        cells = []
        for later in listed[index:]:
            found = counts.get((month, later), 0)
            cells.append({"month": later, "customers": found, "rate": rate(found / size)})
        table.append({"cohort": month, "size": size, "months": cells})
    return table
