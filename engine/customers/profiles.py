"""Reading customers and their order history in batches, as plain profiles.

Planning a million customers must not load a million ORM entities or run a query
per customer: customers are read by keyset pagination in batches, selecting columns,
and each batch's orders are read with one query (by id range when the batch is
dense) and summarised per customer in :class:`~rapport.engine.customers.lifecycle.OrderHistory`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, and_, bindparam, func, select, type_coerce
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression
from sqlalchemy.types import NullType, Numeric

from rapport.engine.core.config import Settings
from rapport.engine.core.models import CUSTOMER, CUSTOMER_EVENT, ORDERS
from rapport.engine.core.timeutil import as_utc, out_of_range, utc_of_naive, zone
from rapport.engine.customers.events import EventQuery, read_events
from rapport.engine.customers.lifecycle import (
    EMPTY_HISTORY,
    OrderHistory,
    OrderLine,
    history_of,
    to_base_currency,
)
from rapport.engine.customers.profile import CustomerProfile, EventRecord

#: (after, up to): customer ids greater than the first and at most the second.
IdRange = tuple[str | None, str | None]


#: Columns are read without SQLAlchemy's result types (see :func:`_raw`): on SQLite
#: its Python-level parsing of every date, timestamp and amount cost more than the
#: query; the values are converted here with the C-level ``fromisoformat``.
_COLUMNS_TYPED = (
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
    CUSTOMER.c.currency,
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

_ORDER_COLUMNS_TYPED = (
    ORDERS.c.customer_id,
    ORDERS.c.id,
    ORDERS.c.sku,
    ORDERS.c.quantity,
    ORDERS.c.amount,
    ORDERS.c.currency,
    ORDERS.c.ordered_at,
)


def _raw(columns: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(type_coerce(column, NullType()).label(column.name) for column in columns)


_COLUMNS = _raw(_COLUMNS_TYPED)
_ORDER_COLUMNS = _raw(_ORDER_COLUMNS_TYPED)
_AMOUNT_TYPE = ORDERS.c.amount.type
assert isinstance(_AMOUNT_TYPE, Numeric)
_AMOUNT_SCALE = _AMOUNT_TYPE.scale
_ONE = Decimal(1)


def _histories(
    connection: Connection,
    rows: Sequence,
    as_of: datetime,
    settings: Settings,
    span: tuple[str, str] | None = None,
) -> dict[str, OrderHistory]:
    """Every order of the batch's customers up to ``as_of``, in one query."""
    zones = {row[0]: row[6] for row in rows}
    lines: dict[str, list[OrderLine]] = {}
    which = (
        ORDERS.c.customer_id.between(*span)
        if span is not None
        else ORDERS.c.customer_id.in_(list(zones))
    )
    zero = Decimal(0)
    found = tuples(connection, select(*_ORDER_COLUMNS).where(which, ORDERS.c.ordered_at <= as_of))
    # Per order this loop is most of reading a customer: the rate of each currency and
    # each customer's zone are looked up once a batch (``to_base_currency`` of one
    # unit, so ``paid * rate`` is the same Decimal), PostgreSQL's naive datetimes are
    # made aware in place, and each line is made without its ``__init__`` as in
    # _profile, inline rather than through a call with keyword arguments.
    rates: dict[str, Decimal | None] = {}
    places: dict[str, tzinfo] = {}
    new = object.__new__
    combine = datetime.combine
    for customer_id, order_id, sku, quantity, amount, currency, ordered_at in found:
        timezone = zones.get(customer_id)
        if timezone is None:
            continue
        if type(ordered_at) is datetime and ordered_at.tzinfo is None:
            moment = combine(ordered_at, ordered_at.time(), UTC)  # utc_of_naive, inline
        else:
            moment = _aware(ordered_at)
        paid = amount if type(amount) is Decimal else _decimal(amount)
        if currency in rates:
            rate = rates[currency]
        else:
            rate = rates[currency] = to_base_currency(_ONE, currency, settings.tiers)
        place = places.get(timezone)
        if place is None:
            place = places[timezone] = zone(timezone)
        try:  # local_date(moment, timezone), without its conversions of a UTC moment
            day = moment.astimezone(place).date()
        except OverflowError:
            day = moment.date()
            out_of_range(customer_id, "ordered_at")
        line = new(OrderLine)
        line.__dict__.update(
            id=order_id,
            sku=sku,
            quantity=quantity,
            amount=zero if rate is None else paid * rate,
            currency=currency,
            ordered_at=moment,
            day=day,
            paid=paid,
        )
        if customer_id in lines:
            lines[customer_id].append(line)
        else:
            lines[customer_id] = [line]
    year_ago = as_of - timedelta(days=365)
    return {cid: history_of(found, year_ago) for cid, found in lines.items()}


def tuples(connection: Connection, query: Any, parameters: Any = None) -> Sequence[Any]:
    """All rows of ``query`` as the driver's own tuples: SQLAlchemy's ``Row`` objects
    cost more than the driver's fetch itself on the hundreds of thousands of rows a
    planning run reads (the columns are read untyped anyway, see :func:`_raw`)."""
    result = connection.execute(query, parameters)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _aware(value: datetime | str) -> datetime:
    # Read without SQLAlchemy's result types: text on SQLite, datetime on PostgreSQL.
    # Stored naive UTC; on SQLite the zone is parsed with the text rather than set by
    # a replace() afterwards (an instant of every order and customer read).
    if isinstance(value, str):
        if len(value) in _NAIVE_LENGTHS:
            return datetime.fromisoformat(value + "+00:00")
        value = datetime.fromisoformat(value)
    return as_utc(value)


#: "2026-12-01 09:30:00" and "2026-12-01 09:30:00.000000": naive, as stored.
_NAIVE_LENGTHS = frozenset({19, 26})


def _moment(value: datetime | str | None) -> datetime | None:
    """A stored timestamp as :class:`~rapport.engine.core.timeutil.UTCDateTime` returns it."""
    return None if value is None else _aware(value)


def _decimal(value: Decimal | float | int | str) -> Decimal:
    """An amount as SQLAlchemy's ``Numeric(18, 4)`` returns it: SQLite keeps numbers
    as integers or floats, read back at the column's scale (never through binary
    floating point); PostgreSQL returns a Decimal."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        return Decimal(value)
    return Decimal(f"{value:.{_AMOUNT_SCALE}f}")


def _profile(
    row: Sequence[Any], history: OrderHistory | None, events: tuple[EventRecord, ...] = ()
) -> CustomerProfile:
    (
        id_,
        first_name,
        last_name,
        email,
        phone,
        locale,
        timezone,
        country,
        birthday,
        created,
        currency,
    ) = row
    # PostgreSQL's types first (a date, a naive UTC datetime), without a call; SQLite's
    # text parsed here and through _moment. Profiles (and order lines) are frozen
    # dataclasses made without their ``__init__``, which sets each field through
    # ``object.__setattr__`` (at a million customers and their orders a measurable
    # share of reading them): they have no ``__post_init__`` and every field is given,
    # so ``object.__new__`` and an update of ``__dict__`` give the same object.
    if type(birthday) is str:
        birthday = date.fromisoformat(birthday)
    if type(created) is datetime and created.tzinfo is None:
        created = utc_of_naive(created)
    else:
        created = _moment(created)
    made = object.__new__(CustomerProfile)
    made.__dict__.update(
        id=id_,
        locale=locale,
        timezone=timezone,
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        country=country,
        birthday=birthday,
        created_at=created,
        history=history or EMPTY_HISTORY,
        currency=currency,
        events=events,
    )
    return made


#: ``planning.batch_size`` when it is not set, per database. On PostgreSQL each batch
#: is five round trips to read (customers, their count, orders, consent, history), a
#: COPY of its outbox rows, one of its decisions and a commit: batches of 4,000 took
#: the 100k broadcast's selection from 0.94-0.97 to 0.79-0.81 s of the planner's CPU
#: and the server's from 1.84 to 1.63 s (docs/benchmarks.md). SQLite, whose write
#: lock a batch's transaction holds, keeps 1,000.
DEFAULT_BATCH_SIZE = {"postgresql": 4000}


def default_batch_size(connection: Connection) -> int:
    return DEFAULT_BATCH_SIZE.get(connection.dialect.name, 1000)


def iter_profile_batches(
    connection: Connection,
    settings: Settings,
    as_of: datetime,
    batch_size: int | None = None,
    customer_ids: Sequence[str] | None = None,
    *,
    where: ColumnElement[bool] | None = None,
    id_range: IdRange | None = None,
    events: EventQuery | None = None,
) -> Iterator[ProfileBatch]:
    """Profiles in batches of ``batch_size``, ordered by id; orders after ``as_of`` ignored.

    ``where`` narrows the customers read (a pre-filter over the customer table);
    ``id_range`` limits them to ids after its first bound and up to its second (either
    may be None), so that several processes can share one run. ``events`` names the
    recent events to read with each batch (none without it).
    """
    size = batch_size or settings.planning.batch_size or default_batch_size(connection)
    after, up_to = id_range or (None, None)
    last_id = after
    dense = customer_ids is None and where is None
    paged = None if where is None else _page_bounded(where, up_to is not None)
    while True:
        query = select(*_COLUMNS).order_by(CUSTOMER.c.id).limit(size)
        if last_id is not None:
            query = query.where(CUSTOMER.c.id > last_id)
        if up_to is not None:
            query = query.where(CUSTOMER.c.id <= up_to)
        if customer_ids is not None:
            query = query.where(CUSTOMER.c.id.in_(list(customer_ids)))
        if paged is not None:
            query = query.where(paged)
        bounds = {_PAGE_FROM: last_id or "", _PAGE_UP_TO: up_to}
        rows = tuples(connection, query, bounds if paged is not None else None)
        if not rows:
            return
        first, last = rows[0][0], rows[-1][0]
        span = (first, last) if dense else None
        if where is not None and len(rows) > 1:
            spanned = connection.execute(
                select(func.count()).select_from(CUSTOMER).where(CUSTOMER.c.id.between(first, last))
            ).scalar_one()
            if len(rows) >= MIN_SHARE_FOR_SPAN * spanned:
                span = (first, last)
        histories = _histories(connection, rows, as_of, settings, span)
        recent: dict[str, tuple[EventRecord, ...]] = {}
        if events is not None and events.names:
            customer = CUSTOMER_EVENT.c.customer_id
            which = customer.between(*span) if span else customer.in_([r[0] for r in rows])
            recent = read_events(connection, which, events, as_of)
        batch = ProfileBatch(
            _profile(row, histories.get(row[0]), recent.get(row[0], ())) for row in rows
        )
        batch.span = span
        yield batch
        last_id = last
        if len(rows) < size:
            return


_PAGE_FROM = "rapport_page_from"
_PAGE_UP_TO = "rapport_page_up_to"


def _page_bounded(where: ColumnElement[bool], upper: bool) -> ColumnElement[bool]:
    """``where`` with each subquery correlated by ``<table>.customer_id = customer.id``
    also bounded to the page's id range (bound parameters :data:`_PAGE_FROM` and, with
    ``upper``, :data:`_PAGE_UP_TO`): implied by the correlation, so nothing changes in
    what is read, but PostgreSQL does not carry ``customer.id > :last`` over to the
    other side of the semi-join it makes of an ``EXISTS``. Without the bound its merge
    join scanned the other table's index from its first row on every keyset page, so
    each page cost more than the one before (a broadcast's pages of 1,000 customers
    at 1M: ~0.6 s each by the end; with it, ~1 ms).
    """

    def bounded(element: Any, **_: Any) -> Any:
        if (
            isinstance(element, BinaryExpression)
            and element.operator is operators.eq
            and element.right is CUSTOMER.c.id
            and isinstance(element.left, Column)
            and element.left.name == "customer_id"
            and element.left.table is not CUSTOMER
        ):
            column = element.left
            limits = [column >= bindparam(_PAGE_FROM, type_=column.type)]
            if upper:
                limits.append(column <= bindparam(_PAGE_UP_TO, type_=column.type))
            return and_(element, *limits)
        return None

    options: dict[str, Any] = {}
    return visitors.replacement_traverse(where, options, bounded)


def count_customers(connection: Connection, id_range: IdRange | None = None) -> int:
    """How many customers an id range holds (ids after its first bound, up to its
    second); an index-only count."""
    after, up_to = id_range or (None, None)
    query = select(func.count()).select_from(CUSTOMER)
    if after is not None:
        query = query.where(CUSTOMER.c.id > after)
    if up_to is not None:
        query = query.where(CUSTOMER.c.id <= up_to)
    return int(connection.execute(query).scalar_one())


def load_profile(
    connection: Connection,
    settings: Settings,
    customer_id: str,
    as_of: datetime,
    events: EventQuery | None = None,
) -> CustomerProfile | None:
    for batch in iter_profile_batches(connection, settings, as_of, 1, [customer_id], events=events):
        return batch[0]
    return None
