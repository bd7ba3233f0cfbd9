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

from sqlalchemy import Connection, Integer, and_, bindparam, or_, select, union_all, update

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


_CLAIM_COLUMNS = [OUTBOX.c[name] for name in Claimed.__dataclass_fields__]


def _on_channels(channels: Collection[str] | None, besides: Collection[str] | None) -> list[Any]:
    """The channel filter of a claim: only ``channels``, or every channel but ``besides``."""
    if channels is not None:
        return [OUTBOX.c.channel.in_(sorted(channels))]
    if besides:
        return [OUTBOX.c.channel.not_in(sorted(besides))]
    return []


def _due_candidates(where: list[Any]) -> tuple[Any, Any]:
    """The two kinds of due rows, each in claim order and each read from the index alone.

    Queued messages whose time has come and messages whose lease expired are two ranges
    of ``ix_outbox_due`` (status, send_at, id). One ``OR`` over both made SQLite scan the
    whole outbox and sort it for every batch (0.12 s a claim at 100k customers, ~1 s at
    1M) and PostgreSQL read every due row before its LIMIT; as two ranges, a claim reads
    about ``limit`` index entries however large the outbox is (a channel filter reads
    past the other channels' due rows, which wait only while their channel is paused).
    """
    queued = (
        select(OUTBOX.c.id, OUTBOX.c.send_at)
        .where(OUTBOX.c.status == MessageStatus.QUEUED, OUTBOX.c.send_at <= _NOW, *where)
        .order_by(OUTBOX.c.send_at, OUTBOX.c.id)
        .limit(_LIMIT)
    )
    expired = (
        select(OUTBOX.c.id, OUTBOX.c.send_at)
        .where(OUTBOX.c.status == MessageStatus.SENDING, OUTBOX.c.lease_until < _NOW, *where)
        .order_by(OUTBOX.c.send_at, OUTBOX.c.id)
        .limit(_LIMIT)
    )
    return queued, expired


#: A claim's values, bound at each claim.
_NOW = bindparam("claim_now", type_=OUTBOX.c.send_at.type)
_LIMIT = bindparam("claim_limit", type_=Integer())
_VALUES = {
    "status": MessageStatus.SENDING,
    "lease_until": bindparam("claim_until", type_=OUTBOX.c.lease_until.type),
    "claimed_by": bindparam("claim_worker", type_=OUTBOX.c.claimed_by.type),
}
#: Claim statements by (dialect, channels, besides): built once, their values bound.
_STATEMENTS: dict[tuple[str, tuple[str, ...] | None, tuple[str, ...] | None], Any] = {}


def _claim_statement(
    dialect: str, channels: Collection[str] | None, besides: Collection[str] | None
) -> Any:
    """The UPDATE ... RETURNING of a claim (see :func:`claim`), built once per filter:
    building it took about a millisecond of Python a claim."""
    key = (
        dialect,
        None if channels is None else tuple(sorted(channels)),
        None if besides is None else tuple(sorted(besides)),
    )
    if (statement := _STATEMENTS.get(key)) is not None:
        return statement
    where = _on_channels(channels, besides)
    queued, expired = _due_candidates(where)
    if dialect == "postgresql":
        # Each range is locked as it is read (SKIP LOCKED: several dispatchers never take
        # the same row); FOR UPDATE is not allowed on a UNION, so each is its own CTE. A
        # CTE runs once, where "id IN (subquery ... LIMIT ... SKIP LOCKED)" may be re-run
        # by the planner per row and so claim far more than ``limit`` rows.
        locked_queued = queued.with_for_update(skip_locked=True).cte("due_queued")
        locked_expired = expired.with_for_update(skip_locked=True).cte("due_expired")
        both = union_all(select(locked_queued), select(locked_expired)).subquery("due")
        picked = select(both.c.id).order_by(both.c.send_at, both.c.id).limit(_LIMIT).cte("picked")
        statement = (
            update(OUTBOX)
            .where(OUTBOX.c.id == picked.c.id)
            .values(_VALUES)
            .returning(*_CLAIM_COLUMNS)
        )
    else:  # SQLite: one statement under the single writer lock
        due = or_(
            and_(OUTBOX.c.status == MessageStatus.QUEUED, OUTBOX.c.send_at <= _NOW),
            and_(OUTBOX.c.status == MessageStatus.SENDING, OUTBOX.c.lease_until < _NOW),
        )
        # SQLite allows no LIMIT inside a compound SELECT's members, hence the wrapping.
        both = union_all(select(queued.subquery()), select(expired.subquery())).subquery("due")
        first = select(both.c.id).order_by(both.c.send_at, both.c.id).limit(_LIMIT)
        statement = (
            update(OUTBOX)
            .where(OUTBOX.c.id.in_(first.scalar_subquery()), due)
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
    besides: Collection[str] | None = None,
) -> list[Claimed]:
    """Take up to ``limit`` due messages (or ones whose lease expired) for ``worker``.

    Due messages are taken oldest ``send_at`` first (then by id), whichever of the two
    kinds they are. ``channels`` limits the claim to those channels, ``besides``
    excludes channels (each channel's pump claims its own, so a slow channel never
    holds up another).
    """
    statement = _claim_statement(connection.dialect.name, channels, besides)
    parameters = {
        "claim_now": now,
        "claim_until": now + lease,
        "claim_worker": worker,
        "claim_limit": limit,
    }
    rows = connection.execute(statement, parameters).all()
    # Positionally: the columns are Claimed's fields, in order (``row._mapping`` is slow).
    return sorted((Claimed(*row) for row in rows), key=lambda m: (m.send_at, m.id))


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
