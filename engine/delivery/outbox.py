"""The transactional outbox: writing planned messages and recording what became of them.

Planning inserts with ON CONFLICT DO NOTHING on the idempotency key, so re-planning
adds nothing. Dispatchers claim due rows with a lease (:mod:`.claims`). Every state
change afterwards is guarded by ``claimed_by`` and ``status`` (GOV.UK Notify's "only
if still sending"), so a worker whose lease was taken over cannot overwrite the new
owner's outcome.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    select,
    update,
)

from rapport.engine.core.db import upsert_insert
from rapport.engine.core.models import (
    OUTBOX,
    MessageStatus,
    idempotency_key,
)
from rapport.engine.core.timeutil import UTCDateTime, as_utc
from rapport.engine.delivery import receipts


def existing_occasions(
    connection: Connection, occasions: Sequence[tuple[str, str, str]]
) -> set[tuple[str, str, str]]:
    """Which (customer, campaign, occasion) triples already have a message, on any channel."""
    wanted = sorted(set(occasions))
    found: set[tuple[str, str, str]] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        customers = sorted({customer for customer, _, _ in chunk})
        keys = sorted({occasion for _, _, occasion in chunk})
        rows = connection.execute(
            select(OUTBOX.c.customer_id, OUTBOX.c.campaign, OUTBOX.c.occasion).where(
                OUTBOX.c.customer_id.in_(customers), OUTBOX.c.occasion.in_(keys)
            )
        )
        found.update(tuple(row) for row in rows)
    return found & set(wanted)


def outbox_row(
    *,
    customer_id: str,
    campaign: str,
    occasion: str,
    channel: str,
    topic: str,
    locale: str,
    status: MessageStatus,
    send_at: datetime,
    created_at: datetime,
    expires_at: datetime | None = None,
    subject: str | None = None,
    body_text: str = "",
    body_html: str | None = None,
    variant: str | None = None,
    segments: int | None = None,
    transactional: bool = False,
    timezone: str | None = None,
    country: str | None = None,
) -> dict[str, Any]:
    """One row for :func:`enqueue`, keyed by :func:`~rapport.engine.core.models.idempotency_key`.

    Every writer of the outbox (planning, transactional e-mails) builds its rows here,
    so all rows of a batch carry the same columns (one prepared statement, one COPY).
    ``timezone`` and ``country``: the customer's when planned (see migration 0020).
    """
    return {
        "idempotency_key": idempotency_key(customer_id, campaign, occasion, channel),
        "customer_id": customer_id,
        "campaign": campaign,
        "occasion": occasion,
        "channel": channel,
        "topic": topic,
        "locale": locale,
        "transactional": transactional,
        "variant": variant,
        "status": status.value,
        "subject": subject,
        "body_text": body_text,
        "body_html": body_html,
        "segments": segments,
        "send_at": send_at,
        "expires_at": expires_at,
        "attempts": 0,
        "created_at": created_at,
        "timezone": timezone,
        "country": country,
    }


def enqueue(connection: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert planned messages; returns how many were new.

    A row that collides with an existing one (same idempotency key, or same customer,
    campaign and occasion) is skipped: that message is already planned.
    """
    if not rows:
        return 0
    statement = upsert_insert(connection, OUTBOX).on_conflict_do_nothing()
    if connection.dialect.name == "sqlite":
        # One single-row statement run by the driver's executemany: SQLite prepares it
        # once, and its row count sums what was inserted (skipped rows count 0). A
        # multi-VALUES insert with RETURNING ("insertmanyvalues") is a new statement
        # text for every batch length, and the driver caches up to 128 prepared
        # statements of a thousand rows each: 150 MiB of a planning run's memory.
        return connection.execute(statement, list(rows)).rowcount
    if len(rows) >= _COPY_FROM:
        return _copy_enqueue(connection, rows)
    # One statement executed over all the rows: SQLAlchemy compiles it once and batches
    # it ("insertmanyvalues"), returning the ids of the rows that were new.
    return len(connection.execute(statement.returning(OUTBOX.c.id), list(rows)).all())


#: PostgreSQL: batches of at least this many rows are copied (a single transactional
#: e-mail is not worth a temporary table).
_COPY_FROM = 50


def _copy_enqueue(connection: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """PostgreSQL: ``COPY`` the rows into the outbox, or, when one of them is already
    there, into a temporary table and insert from there.

    Parameterised inserts cost PostgreSQL a parse and a bind per batch of rows and
    psycopg a Python-level adaptation per value (3,600 rows/s in the bench, against
    23,600 for COPY). COPY cannot skip conflicting rows itself: it is tried first
    under a savepoint (planning has already left out what the outbox holds, so it
    nearly always succeeds, and each row is written once, its body compressed
    once); on a unique violation it is undone, and the rows fill a temporary table
    (no indexes, emptied at commit) from which one statement moves them on, skipping
    those already planned exactly as the plain insert does.
    """
    columns = list(rows[0])
    names = ", ".join(columns)
    # One session-local table per set of columns (callers differ in the columns they
    # give), holding rows only until the statement below has moved them.
    incoming = "rapport_incoming_" + hashlib.sha1(names.encode()).hexdigest()[:12]
    driver = connection.connection.driver_connection  # psycopg's own connection
    assert driver is not None  # None only for a closed connection
    values = _copy_values(rows, columns)
    types = binary_types(OUTBOX, columns)
    cursor = driver.cursor()
    try:
        # Nearly always nothing collides (the planner skipped what the outbox already
        # holds): copy straight into the table, as fast as COPY gets. A collision (a
        # concurrent planner, a repeated transactional e-mail) undoes the whole copy,
        # and the rows go the way that skips them.
        if copied(cursor, "outbox_message", columns, values, types):
            return len(rows)
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {incoming} ON COMMIT DELETE ROWS AS "
            f"SELECT {names} FROM outbox_message WITH NO DATA"
        )
        copy_rows(cursor, incoming, columns, values, types)
        cursor.execute(
            f"INSERT INTO outbox_message ({names}) SELECT {names} FROM {incoming} "
            "ON CONFLICT DO NOTHING"
        )
        inserted = cursor.rowcount
        cursor.execute(f"DELETE FROM {incoming}")
    finally:
        cursor.close()
    return inserted


def _copy_values(rows: Sequence[dict[str, Any]], columns: list[str]) -> list[list[Any]]:
    """The rows' values in ``columns`` order, their moments naive UTC as stored.

    Per row, in the write stage's time: an ``itemgetter`` instead of a lookup per
    column, and each distinct moment converted once (a batch shares its ``created_at``
    and mostly a few ``send_at``; equal moments are the same instant, whatever their
    zone, so they store the same naive UTC value): 0.30-0.55 -> 0.11-0.25 s of CPU
    for the 100k broadcast's 53,645 rows.
    """
    get = itemgetter(*columns)
    at = [i for i, name in enumerate(columns) if isinstance(OUTBOX.c[name].type, UTCDateTime)]
    stored: dict[datetime, datetime | None] = {}
    values = []
    for row in rows:
        value = list(get(row))
        for i in at:
            moment = value[i]
            if moment is not None:
                naive = stored.get(moment)
                if naive is None:
                    naive = stored[moment] = _naive_utc(moment)
                value[i] = naive
        values.append(value)
    return values


#: psycopg's name of the PostgreSQL type a column of each of these SQLAlchemy types
#: has in the schema (the migrations make them so; test_schema compares). Checked in
#: this order: a subclass before its base.
_BINARY_TYPES: tuple[tuple[type, str], ...] = (
    (UTCDateTime, "timestamp"),
    (Boolean, "bool"),
    (Date, "date"),
    (Integer, "int4"),
    (String, "text"),
)


def binary_types(table: Table, columns: Sequence[str]) -> list[str] | None:
    """The PostgreSQL types of ``columns`` of ``table`` for a binary ``COPY``, or None
    when one of them has no entry in :data:`_BINARY_TYPES` (the copy is then text).

    Binary rows are length-prefixed values: psycopg writes a body as it is and the
    server reads it as it is, where the text format escapes and the server unescapes
    every tab, newline and backslash of a 3 KB HTML body, and prints and parses every
    moment and number. The 100k broadcast's 53,645 outbox rows: 0.55 -> 0.22-0.34 s
    of the planner's CPU, 1.58 -> 1.41 s of the server's. A ``varchar(n)`` column
    reads binary text and still checks its length.
    """
    names = []
    for name in columns:
        kind = table.c[name].type
        for sqlalchemy_type, pg_name in _BINARY_TYPES:
            if isinstance(kind, sqlalchemy_type):
                # Integer's subclasses (BigInteger, SmallInteger) have other sizes.
                if sqlalchemy_type is Integer and type(kind) is not Integer:
                    return None
                names.append(pg_name)
                break
        else:
            return None
    return names


def copy_rows(
    cursor: Any,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    types: Sequence[str] | None = None,
) -> None:
    """PostgreSQL: ``COPY`` ``rows`` into ``columns`` of ``table`` with psycopg's
    ``cursor``; binary when ``types`` (see :func:`binary_types`) are given, else text."""
    binary = " (FORMAT BINARY)" if types is not None else ""
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN{binary}") as copy:
        if types is not None:
            copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def copied(
    cursor: Any,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    types: Sequence[str] | None = None,
) -> bool:
    """PostgreSQL: :func:`copy_rows` under a savepoint; on a unique violation the copy
    is undone and False returned, for the caller's slower way that skips or merges
    what is already there."""
    from psycopg.errors import UniqueViolation  # PostgreSQL only

    cursor.execute("SAVEPOINT rapport_copy")
    try:
        copy_rows(cursor, table, columns, rows, types)
    except UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT rapport_copy")
        cursor.execute("RELEASE SAVEPOINT rapport_copy")
        return False
    cursor.execute("RELEASE SAVEPOINT rapport_copy")
    return True


def _naive_utc(value: datetime | None) -> datetime | None:
    """As :class:`~rapport.engine.core.timeutil.UTCDateTime` stores it."""
    return None if value is None else as_utc(value).replace(tzinfo=None)


@dataclass(frozen=True)
class Transition:
    """What happens to one claimed message next, to be written by :func:`apply`.

    ``status`` SENT, FAILED, EXPIRED or SUPPRESSED is a final outcome (``at`` is the
    sending time for SENT); QUEUED is another attempt at ``at``; ``release`` gives a
    claimed message back to the queue. ``uncount`` takes back the attempt the check
    before sending counted, for a send that never reached the provider (connection
    refused) or a message the check stopped.
    """

    message_id: int
    status: MessageStatus
    at: datetime | None = None
    provider_id: str | None = None
    error: str | None = None
    release: bool = False
    uncount: bool = False


def _guarded(message_id: Any, worker: Any) -> Any:
    """Only while ``worker`` still holds the lease ("only if still sending")."""
    return and_(
        OUTBOX.c.id == message_id,
        OUTBOX.c.claimed_by == worker,
        OUTBOX.c.status == MessageStatus.SENDING,
    )


_GUARD = _guarded(bindparam("m_id"), bindparam("m_worker"))
#: One statement per kind of change, each executed once over all the rows of that kind;
#: the statements never change, so SQLAlchemy compiles each once per process.
_SENT = (
    update(OUTBOX)
    .where(_GUARD)
    .values(
        status=MessageStatus.SENT,
        lease_until=None,
        last_error=bindparam("m_error"),
        sent_at=bindparam("m_at", type_=OUTBOX.c.sent_at.type),
        provider_id=bindparam("m_provider_id"),
    )
)


def _change(uncount: bool, **values: Any) -> Any:
    """A guarded change; ``uncount`` also takes back the attempt the check counted."""
    if uncount:
        values["attempts"] = OUTBOX.c.attempts - 1
    return update(OUTBOX).where(_GUARD).values(lease_until=None, **values)


_ENDED_VALUES: dict[str, Any] = {
    "status": bindparam("m_status"),
    "last_error": bindparam("m_error"),
}
_RETRY_VALUES: dict[str, Any] = {
    "status": MessageStatus.QUEUED,
    "send_at": bindparam("m_at", type_=OUTBOX.c.send_at.type),
    "last_error": bindparam("m_error"),
}
_RELEASE_VALUES: dict[str, Any] = {"status": MessageStatus.QUEUED, "claimed_by": None}
_ENDED, _ENDED_UNCOUNTED = (_change(u, **_ENDED_VALUES) for u in (False, True))
_RETRY, _RETRY_UNCOUNTED = (_change(u, **_RETRY_VALUES) for u in (False, True))
_RELEASE, _RELEASE_UNCOUNTED = (_change(u, **_RELEASE_VALUES) for u in (False, True))


def apply(connection: Connection, worker: str, transitions: Sequence[Transition]) -> set[int]:
    """Write many outcomes at once; returns the ids written (the others' leases were lost).

    Every change is guarded like a single one (:func:`_guarded`): a message whose lease
    passed to another worker is left as that worker has it. The rows are grouped by kind
    and each kind is one ``executemany``, so a batch costs a few statements rather than
    one transaction a message. When a kind's row count falls short, the rows that did
    change are looked up (they are still ours and no longer sending); a released row
    loses its owner, so releases are counted as written, as :func:`release` reports.
    """
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for change in transitions:
        if change.release:
            statement = _RELEASE_UNCOUNTED if change.uncount else _RELEASE
        elif change.status is MessageStatus.SENT:
            statement = _SENT
        elif change.status is MessageStatus.QUEUED:
            statement = _RETRY_UNCOUNTED if change.uncount else _RETRY
        else:
            statement = _ENDED_UNCOUNTED if change.uncount else _ENDED
        groups[statement].append(
            {
                "m_id": change.message_id,
                "m_worker": worker,
                "m_status": change.status,
                "m_at": change.at,
                "m_provider_id": change.provider_id,
                "m_error": change.error,
            }
        )
    written: set[int] = set()
    for statement, rows in groups.items():
        ids = [row["m_id"] for row in rows]
        result = connection.execute(statement, rows)
        if result.rowcount == len(rows) or statement in (_RELEASE, _RELEASE_UNCOUNTED):
            written.update(ids)
        elif result.rowcount > 0:
            written.update(
                connection.execute(
                    select(OUTBOX.c.id).where(
                        OUTBOX.c.id.in_(ids),
                        OUTBOX.c.claimed_by == worker,
                        OUTBOX.c.status != MessageStatus.SENDING,
                    )
                ).scalars()
            )
    return written


def finish(
    connection: Connection,
    message_id: int,
    worker: str,
    status: MessageStatus,
    *,
    now: datetime,
    provider_id: str | None = None,
    error: str | None = None,
) -> bool:
    """Record a final outcome; False when the lease was lost to another worker."""
    change = Transition(message_id, status, at=now, provider_id=provider_id, error=error)
    return bool(apply(connection, worker, [change]))


def retry_later(
    connection: Connection, message_id: int, worker: str, send_at: datetime, error: str
) -> bool:
    """Put a message back in the queue for another attempt at ``send_at``."""
    change = Transition(message_id, MessageStatus.QUEUED, at=send_at, error=error)
    return bool(apply(connection, worker, [change]))


def release(connection: Connection, message_id: int, worker: str) -> bool:
    """Give a claimed, unsent message back to the queue (the attempt did not happen)."""
    result = connection.execute(_RELEASE, {"m_id": message_id, "m_worker": worker})
    return result.rowcount == 1


def mark_delivered(connection: Connection, deliveries: Iterable[tuple[str, datetime]]) -> int:
    """Record provider delivery reports by the provider's message id (for SMTP, the
    Message-ID) at the times given; the first final report wins and unknown ids are
    ignored (:mod:`.receipts`). Returns how many matched a sent message."""
    reports = [
        receipts.Receipt(message_id, receipts.DeliveryStatus.DELIVERED, occurred_at=at)
        for message_id, at in deliveries
    ]
    if not reports:
        return 0
    latest = max(report.occurred_at for report in reports if report.occurred_at is not None)
    recorded = receipts.record_receipts(
        connection, reports, latest, id_forms=receipts.email_id_forms
    )
    return sum(r.matched for r in recorded)
