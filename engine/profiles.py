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

from sqlalchemy import ColumnElement, Connection, func, select

from rapport.engine.config import Settings
from rapport.engine.lifecycle import OrderHistory, OrderLine, to_base_currency
from rapport.engine.models import Customer, Order
from rapport.engine.planner import CustomerProfile, local_day
from rapport.engine.timeutil import as_utc

#: (after, up to): customer ids greater than the first and at most the second.
IdRange = tuple[str | None, str | None]

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


class ProfileBatch(list[CustomerProfile]):
    """A batch of profiles that knows whether it is (nearly) every customer of an id range.

    ``span`` is (first id, last id) when the batch holds every customer between them,
    as keyset pages without a filter do, or at least half of them; the batch's consent,
    orders and history are then read with one ``BETWEEN`` each instead of IN lists of
    a thousand ids, and the readers drop the rows of customers not in the batch.
    """

    span: tuple[str, str] | None = None


#: A filtered page is read by id range while it keeps at least this share of the
#: customers it spans (a broadcast keeps most of them; a quiet tick, a few).
MIN_SHARE_FOR_SPAN = 0.5

_ORDER_COLUMNS = (
    ORDERS.c.customer_id,
    ORDERS.c.id,
    ORDERS.c.sku,
    ORDERS.c.quantity,
    ORDERS.c.amount,
    ORDERS.c.currency,
    ORDERS.c.ordered_at,
)


def _histories(
    connection: Connection,
    rows: Sequence,
    as_of: datetime,
    settings: Settings,
    span: tuple[str, str] | None = None,
) -> dict[str, OrderHistory]:
    """Every order of the batch's customers up to ``as_of``, in one query."""
    zones = {row.id: row.timezone for row in rows}
    lines: dict[str, list[OrderLine]] = defaultdict(list)
    which = (
        ORDERS.c.customer_id.between(*span)
        if span is not None
        else ORDERS.c.customer_id.in_(list(zones))
    )
    for customer_id, order_id, sku, quantity, amount, currency, ordered_at in connection.execute(
        select(*_ORDER_COLUMNS).where(which, ORDERS.c.ordered_at <= as_of)
    ):
        if customer_id not in zones:
            continue
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
    *,
    where: ColumnElement[bool] | None = None,
    id_range: IdRange | None = None,
) -> Iterator[ProfileBatch]:
    """Profiles in batches of ``batch_size``, ordered by id; orders after ``as_of`` ignored.

    ``where`` narrows the customers read (a pre-filter over the customer table);
    ``id_range`` limits them to ids after its first bound and up to its second (either
    may be None), so that several processes can share one run.
    """
    size = batch_size or settings.planning.batch_size
    after, up_to = id_range or (None, None)
    last_id = after
    dense = customer_ids is None and where is None
    while True:
        query = select(*_COLUMNS).order_by(CUSTOMER.c.id).limit(size)
        if last_id is not None:
            query = query.where(CUSTOMER.c.id > last_id)
        if up_to is not None:
            query = query.where(CUSTOMER.c.id <= up_to)
        if customer_ids is not None:
            query = query.where(CUSTOMER.c.id.in_(list(customer_ids)))
        if where is not None:
            query = query.where(where)
        rows = connection.execute(query).all()
        if not rows:
            return
        span = (rows[0].id, rows[-1].id) if dense else None
        if where is not None and len(rows) > 1:
            spanned = count_customers(connection, (None, rows[-1].id), first=rows[0].id)
            if len(rows) >= MIN_SHARE_FOR_SPAN * spanned:
                span = (rows[0].id, rows[-1].id)
        histories = _histories(connection, rows, as_of, settings, span)
        batch = ProfileBatch(_profile(row, histories.get(row.id)) for row in rows)
        batch.span = span
        yield batch
        last_id = rows[-1].id
        if len(rows) < size:
            return


def count_customers(
    connection: Connection, id_range: IdRange | None = None, *, first: str | None = None
) -> int:
    """How many customers an id range holds (ids after its first bound, or from
    ``first`` inclusive, up to its second); an index-only count."""
    after, up_to = id_range or (None, None)
    query = select(func.count()).select_from(CUSTOMER)
    if first is not None:
        query = query.where(CUSTOMER.c.id >= first)
    if after is not None:
        query = query.where(CUSTOMER.c.id > after)
    if up_to is not None:
        query = query.where(CUSTOMER.c.id <= up_to)
    return int(connection.execute(query).scalar_one())


def load_profile(
    connection: Connection, settings: Settings, customer_id: str, as_of: datetime
) -> CustomerProfile | None:
    for batch in iter_profile_batches(connection, settings, as_of, 1, [customer_id]):
        return batch[0]
    return None
