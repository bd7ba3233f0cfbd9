"""Claims on due messages: taking them with a lease, and keeping the lease while working.

A dispatcher claims due rows by setting a lease in one UPDATE ... RETURNING statement;
on PostgreSQL the candidate rows are picked with FOR UPDATE SKIP LOCKED so several
dispatchers never take the same row, and on SQLite the single statement runs under
SQLite's one writer lock. A worker that dies leaves a lease that expires, after which
the row is claimable again.

A lease is a promise that nobody else will send the message before ``lease_until``, so
a dispatcher renews it for as long as the message is in its hands (waiting, in flight,
or sent with its outcome not yet written), and checks it right before each send
(:mod:`rapport.engine.delivery.fence`). A claim no longer counts as an attempt: the
fence counts the sends that are handed to a provider.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, func, select, text, union_all, update

from rapport.engine.core.models import OUTBOX, MessageStatus

#: Ids per IN list of a renewal.
_CHUNK = 500


@dataclass(frozen=True)
class Claimed:
    """A message this worker holds the lease on; plain columns, re-read inside the claim."""

    id: int
    idempotency_key: str
    customer_id: str
    campaign: str
    channel: str
    topic: str
    locale: str
    subject: str | None
    body_text: str
    body_html: str | None
    send_at: datetime
    expires_at: datetime | None
    attempts: int
    transactional: bool
    #: The customer's time zone and country when planned (None: not planned, or
    #: planned before migration 0020): the check before the send compares them.
    timezone: str | None = None
    country: str | None = None


_CLAIM_COLUMNS = [OUTBOX.c[name] for name in Claimed.__dataclass_fields__]


def _channel_ranges(channels: Collection[str] | None) -> list[list[Any]]:
    """The channel conditions of a claim, each one range of ``ix_outbox_due``'s
    ``channel`` column: one channel each, read in (send_at, id) order straight from the
    index, or one unbounded range for every channel (None)."""
    if channels is None:
        return [[]]
    return [[OUTBOX.c.channel == name] for name in sorted(set(channels))]


def _gaps(besides: tuple[str, ...]) -> list[list[Any]]:
    """Every channel but ``besides`` (in the index's order) as ranges of
    ``ix_outbox_due``'s ``channel`` column: before the first, between two, after the
    last, so what they hold is read without reading the rows of ``besides``."""
    ranges: list[list[Any]] = []
    below: str | None = None
    for above in [*besides, None]:
        gap = [] if below is None else [OUTBOX.c.channel > below]
        ranges.append(gap if above is None else [*gap, OUTBOX.c.channel < above])
        below = above
    return ranges


def _due_candidates(ranges: list[list[Any]]) -> list[Any]:
    """The due rows of each channel range, two kinds each, each in claim order.

    Queued messages whose time has come and messages whose lease expired are, per
    channel, two ranges of ``ix_outbox_due`` (status, channel, send_at, id). One ``OR``
    over both kinds made SQLite scan the whole outbox and sort it for every batch (0.12 s
    a claim at 100k customers, ~1 s at 1M) and PostgreSQL read every due row before its
    LIMIT. With the channel a filter on (status, send_at, id) (issue 20, point 2; 535k
    queued rows, 65 % e-mail): an SMS claim read past every e-mail due before its rows
    (19k rows and 20k buffers a claim of 100 once 10k SMS were sent; 500 buffers now);
    with a broadcast's rows not analysed yet PostgreSQL expected few rows after the
    filter, read every due SMS with a bitmap scan and sorted them, each claim (13k
    buffers a claim with its update, 4k now); the claim for unconfigured channels
    (there is none now: :func:`waiting` counts them) read the whole outbox (319 ms;
    0.8 ms with :func:`_gaps`). SQLite, 200k rows all due: 100 ms of CPU
    an SMS claim, 4.5 ms now. A range with the channel fixed reads about ``limit`` index
    entries however many rows other channels have due.
    """
    candidates = []
    for where in ranges:
        candidates.append(
            select(OUTBOX.c.id, OUTBOX.c.send_at)
            .where(OUTBOX.c.status == MessageStatus.QUEUED, *where, OUTBOX.c.send_at <= _NOW)
            .order_by(OUTBOX.c.send_at, OUTBOX.c.id)
            .limit(_LIMIT)
        )
        candidates.append(
            select(OUTBOX.c.id, OUTBOX.c.send_at)
            .where(OUTBOX.c.status == MessageStatus.SENDING, *where, OUTBOX.c.lease_until < _NOW)
            .order_by(OUTBOX.c.send_at, OUTBOX.c.id)
            .limit(_LIMIT)
        )
    return candidates


#: A claim's values, bound at each claim.
_NOW = bindparam("claim_now", type_=OUTBOX.c.send_at.type)
_LIMIT = bindparam("claim_limit", type_=Integer())
_VALUES = {
    "status": MessageStatus.SENDING,
    "lease_until": bindparam("claim_until", type_=OUTBOX.c.lease_until.type),
    "claimed_by": bindparam("claim_worker", type_=OUTBOX.c.claimed_by.type),
}
#: Claim statements by (dialect, channels): built once, their values bound.
_STATEMENTS: dict[tuple[str, tuple[str, ...] | None], Any] = {}


#: Channel names in the order of PostgreSQL's collation, by (database, names).
_ORDERS: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}


def _in_index_order(connection: Connection, names: Collection[str]) -> tuple[str, ...]:
    """``names`` as ``ix_outbox_due`` orders them: the gaps between them are index ranges
    only when taken in that order. SQLite compares text by code point, as Python does;
    PostgreSQL by the database's collation (en-US puts "B" after "a" and "sms_b" after
    "smsa"), asked once per database and set of names."""
    unique = tuple(sorted(set(names)))
    if connection.dialect.name != "postgresql" or len(unique) < 2:
        return unique
    key = (connection.engine.url.render_as_string(), unique)
    if (known := _ORDERS.get(key)) is None:
        ordered = connection.execute(
            text("SELECT name FROM unnest(CAST(:names AS varchar[])) AS n(name) ORDER BY name"),
            {"names": list(unique)},
        ).scalars()
        known = _ORDERS[key] = tuple(ordered)
    return known


def _claim_statement(connection: Connection, channels: Collection[str] | None) -> Any:
    """The UPDATE ... RETURNING of a claim (see :func:`claim`), built once per filter:
    building it took about a millisecond of Python a claim."""
    dialect = connection.dialect.name
    key = (dialect, None if channels is None else tuple(sorted(set(channels))))
    if (statement := _STATEMENTS.get(key)) is not None:
        return statement
    candidates = _due_candidates(_channel_ranges(channels))
    if dialect == "postgresql":
        # Each range is locked as it is read (SKIP LOCKED: several dispatchers never take
        # the same row); FOR UPDATE is not allowed on a UNION, so each is its own CTE. A
        # CTE runs once, where "id IN (subquery ... LIMIT ... SKIP LOCKED)" may be re-run
        # by the planner per row and so claim far more than ``limit`` rows.
        locked = [
            select(c.with_for_update(skip_locked=True).cte(f"due_{n}"))
            for n, c in enumerate(candidates)
        ]
        due = union_all(*locked).subquery("due")
        picked = select(due.c.id).order_by(due.c.send_at, due.c.id).limit(_LIMIT).cte("picked")
        statement = (
            update(OUTBOX)
            .where(OUTBOX.c.id == picked.c.id)
            .values(_VALUES)
            .returning(*_CLAIM_COLUMNS)
        )
    else:  # SQLite: one statement under the single writer lock
        # SQLite allows no LIMIT inside a compound SELECT's members, hence the wrapping.
        due = union_all(*(select(c.subquery()) for c in candidates)).subquery("due")
        first = select(due.c.id).order_by(due.c.send_at, due.c.id).limit(_LIMIT)
        # The rows are updated by id alone: nothing changes between the subquery and the
        # update under the writer lock. Repeating the due conditions here let SQLite's
        # planner read every due row of ix_outbox_due (every queued row of every channel
        # once channel follows status) and test each against the list, for every claim.
        statement = (
            update(OUTBOX)
            .where(OUTBOX.c.id.in_(first.scalar_subquery()))
            .values(_VALUES)
            .returning(*_CLAIM_COLUMNS)
        )
    _STATEMENTS[key] = statement
    return statement


def claim(
    connection: Connection,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    *,
    channels: Collection[str] | None = None,
) -> list[Claimed]:
    """Take up to ``limit`` due messages (or ones whose lease expired) for ``worker``.

    Due messages are taken oldest ``send_at`` first (then by id), whichever of the two
    kinds they are. ``channels`` limits the claim to those channels (each channel's
    pump claims its own, so a slow channel never holds up another, and a dispatcher
    never claims a message of a channel it has not configured: see :func:`waiting`).
    """
    if channels is not None and not channels:
        return []
    statement = _claim_statement(connection, channels)
    parameters = {
        "claim_now": now,
        "claim_until": now + lease,
        "claim_worker": worker,
        "claim_limit": limit,
    }
    rows = connection.execute(statement, parameters).all()
    # Positionally: the columns are Claimed's fields, in order (``row._mapping`` is slow).
    return sorted((Claimed(*row) for row in rows), key=lambda m: (m.send_at, m.id))


def waiting(connection: Connection, now: datetime, configured: Collection[str]) -> dict[str, int]:
    """The due messages of every channel but ``configured``, counted by channel.

    A dispatcher claims only its configured channels; the messages of another (one
    commented out of config.yaml, or one a newer daemon planned for) stay queued,
    untouched, for a dispatcher that has it. This counts them as :func:`claim` would
    find them due: queued with their time come, or ``sending`` with the lease expired.
    Each kind is read from the gaps of ``ix_outbox_due`` around the configured
    channels, so the count reads the waiting rows' index entries, not every due row.
    """
    counted = connection.execute(_waiting_statement(connection, now, configured))
    return {channel: count for channel, count in counted}


def _waiting_statement(connection: Connection, now: datetime, configured: Collection[str]) -> Any:
    """The SELECT of :func:`waiting`: channel and count of each channel with some due."""
    parts = []
    for where in _gaps(_in_index_order(connection, configured)):
        queued = OUTBOX.c.status == MessageStatus.QUEUED
        parts.append(select(OUTBOX.c.channel).where(queued, *where, OUTBOX.c.send_at <= now))
        sending = OUTBOX.c.status == MessageStatus.SENDING
        parts.append(select(OUTBOX.c.channel).where(sending, *where, OUTBOX.c.lease_until < now))
    due = union_all(*parts).subquery("due")
    return select(due.c.channel, func.count()).group_by(due.c.channel)


#: Built once: the keeper renews every third of a lease.
_RENEW = (
    update(OUTBOX)
    .where(
        OUTBOX.c.id.in_(bindparam("ids", expanding=True)),
        OUTBOX.c.claimed_by == bindparam("worker"),
        OUTBOX.c.status == MessageStatus.SENDING,
    )
    .values(lease_until=bindparam("until", type_=OUTBOX.c.lease_until.type))
    .returning(OUTBOX.c.id)
)


def renew(
    connection: Connection,
    worker: str,
    ids: Iterable[int],
    until: datetime,
) -> set[int]:
    """Extend ``worker``'s leases on ``ids`` to ``until``; returns the ids still held.

    An id missing from the answer is no longer this worker's: its lease expired and
    another dispatcher claimed it, or its outcome is already written. Such a message
    must not be sent by this worker.
    """
    wanted = sorted(set(ids))
    held: set[int] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        parameters = {"ids": chunk, "worker": worker, "until": until}
        held.update(connection.execute(_RENEW, parameters).scalars())
    return held


def next_queued(connection: Connection, now: datetime, configured: Collection[str]) -> Any:
    """The earliest send time after ``now`` of a message queued on one of ``configured``
    (None when there is none): what ``dispatch --once`` names when nothing is due yet.
    Channel by channel, each the first entry of its range of ``ix_outbox_due``."""
    firsts = [
        connection.execute(
            select(OUTBOX.c.send_at)
            .where(
                OUTBOX.c.status == MessageStatus.QUEUED,
                OUTBOX.c.channel == channel,
                OUTBOX.c.send_at > now,
            )
            .order_by(OUTBOX.c.send_at)
            .limit(1)
        ).scalar_one_or_none()
        for channel in sorted(configured)
    ]
    return min((first for first in firsts if first is not None), default=None)
