"""Reading customers and their order history in batches, as plain profiles.

Planning a million customers must not load a million ORM entities or run a query
per customer: customers are read by keyset pagination in batches, selecting columns,
and each batch's orders are summarised by two grouped queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, select

from rapport.engine.config import Settings
from rapport.engine.lifecycle import OrderHistory, OrderLine, to_base_currency
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
    """Every order of the batch's customers up to ``as_of``, in one query."""
    zones = {row.id: row.timezone for row in rows}
    lines: dict[str, list[OrderLine]] = defaultdict(list)
    for customer_id, order_id, sku, quantity, amount, currency, ordered_at in connection.execute(
        select(
            ORDERS.c.customer_id,
            ORDERS.c.id,
            ORDERS.c.sku,
            ORDERS.c.quantity,
            ORDERS.c.amount,
            ORDERS.c.currency,
            ORDERS.c.ordered_at,
        ).where(ORDERS.c.customer_id.in_(list(zones)), ORDERS.c.ordered_at <= as_of)
    ):
        moment = _aware(ordered_at)
        converted = to_base_currency(Decimal(amount), currency, settings.tiers)
        lines[customer_id].append(
            OrderLine(
                id=order_id,
                sku=sku,
                quantity=quantity,
                amount=converted if converted is not None else Decimal(0),
                currency=currency,
                ordered_at=moment,
                day=local_day(moment, zones[customer_id]),
            )
        )
    return {cid: OrderHistory.from_orders(found, as_of) for cid, found in lines.items()}


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
