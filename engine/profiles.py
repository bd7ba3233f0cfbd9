"""Reading customers and their order history in batches, as plain profiles.

Planning a million customers must not load a million ORM entities or run a query
per customer: customers are read by keyset pagination in batches, selecting columns,
and each batch's orders are summarised by two grouped queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, func, select

from rapport.engine.config import Settings
from rapport.engine.lifecycle import OrderHistory, to_base_currency
from rapport.engine.models import Customer, Order
from rapport.engine.planner import CustomerProfile, local_day
from rapport.engine.timeutil import as_utc

CUSTOMER = Customer.__table__  # type: ignore[attr-defined]
ORDERS = Order.__table__  # type: ignore[attr-defined]

_COLUMNS = (
    CUSTOMER.c.id,
    CUSTOMER.c.first_name,
    CUSTOMER.c.last_name,
    CUSTOMER.c.email,
    CUSTOMER.c.phone,
    CUSTOMER.c.locale,
    CUSTOMER.c.timezone,
    CUSTOMER.c.country,
    CUSTOMER.c.birthday,
    CUSTOMER.c.created_at,
)


def _histories(
    connection: Connection, rows: Sequence, as_of: datetime, settings: Settings
) -> dict[str, OrderHistory]:
    ids = [row.id for row in rows]
    zones = {row.id: row.timezone for row in rows}
    year_ago = as_of - timedelta(days=365)
    totals = connection.execute(
        select(
            ORDERS.c.customer_id,
            ORDERS.c.currency,
            func.count(),
            func.min(ORDERS.c.ordered_at),
            func.max(ORDERS.c.ordered_at),
            func.sum(ORDERS.c.amount),
        )
        .where(ORDERS.c.customer_id.in_(ids), ORDERS.c.ordered_at <= as_of)
        .group_by(ORDERS.c.customer_id, ORDERS.c.currency)
    ).all()
    recent = dict(
        ((row[0], row[1]), row[2])
        for row in connection.execute(
            select(ORDERS.c.customer_id, ORDERS.c.currency, func.sum(ORDERS.c.amount))
            .where(
                ORDERS.c.customer_id.in_(ids),
                ORDERS.c.ordered_at > year_ago,
                ORDERS.c.ordered_at <= as_of,
            )
            .group_by(ORDERS.c.customer_id, ORDERS.c.currency)
        )
    )
    by_sku: dict[str, dict[str, date]] = defaultdict(dict)
    for customer_id, sku, last in connection.execute(
        select(ORDERS.c.customer_id, ORDERS.c.sku, func.max(ORDERS.c.ordered_at))
        .where(ORDERS.c.customer_id.in_(ids), ORDERS.c.ordered_at <= as_of)
        .group_by(ORDERS.c.customer_id, ORDERS.c.sku)
    ):
        by_sku[customer_id][sku] = local_day(_aware(last), zones[customer_id])

    acc: dict[str, dict] = {}
    for customer_id, currency, count, first, last, total in totals:
        entry = acc.setdefault(
            customer_id,
            {"count": 0, "first": None, "last": None, "ltv": Decimal(0), "12m": Decimal(0)},
        )
        entry["count"] += count
        first, last = _aware(first), _aware(last)
        entry["first"] = first if entry["first"] is None else min(entry["first"], first)
        entry["last"] = last if entry["last"] is None else max(entry["last"], last)
        entry["ltv"] += to_base_currency(Decimal(total or 0), currency, settings.tiers) or 0
        spent = recent.get((customer_id, currency))
        if spent is not None:
            entry["12m"] += to_base_currency(Decimal(spent), currency, settings.tiers) or 0
    return {
        customer_id: OrderHistory(
            order_count=entry["count"],
            first_order_at=entry["first"],
            last_order_at=entry["last"],
            lifetime_value=entry["ltv"],
            spend_12m=entry["12m"],
            last_order_by_sku=dict(by_sku.get(customer_id, {})),
        )
        for customer_id, entry in acc.items()
    }


def _aware(value: datetime | str) -> datetime:
    # Aggregates bypass the column type on SQLite and come back as naive or as text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


def _profile(row, history: OrderHistory | None) -> CustomerProfile:  # type: ignore[no-untyped-def]
    return CustomerProfile(
        id=row.id,
        locale=row.locale,
        timezone=row.timezone,
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email,
        phone=row.phone,
        country=row.country,
        birthday=row.birthday,
        created_at=row.created_at,
        history=history or OrderHistory(),
    )


def iter_profile_batches(
    connection: Connection,
    settings: Settings,
    as_of: datetime,
    batch_size: int | None = None,
    customer_ids: Sequence[str] | None = None,
) -> Iterator[list[CustomerProfile]]:
    """Profiles in batches of ``batch_size``, ordered by id; orders after ``as_of`` ignored."""
    size = batch_size or settings.planning.batch_size
    last_id: str | None = None
    while True:
        query = select(*_COLUMNS).order_by(CUSTOMER.c.id).limit(size)
        if last_id is not None:
            query = query.where(CUSTOMER.c.id > last_id)
        if customer_ids is not None:
            query = query.where(CUSTOMER.c.id.in_(list(customer_ids)))
        rows = connection.execute(query).all()
        if not rows:
            return
        histories = _histories(connection, rows, as_of, settings)
        yield [_profile(row, histories.get(row.id)) for row in rows]
        last_id = rows[-1].id
        if len(rows) < size:
            return


def load_profile(
    connection: Connection, settings: Settings, customer_id: str, as_of: datetime
) -> CustomerProfile | None:
    for batch in iter_profile_batches(connection, settings, as_of, 1, [customer_id]):
        return batch[0]
    return None
