"""Planning shared by every daemon on PostgreSQL: a day's customers in leased shards.

With one planner at a time, planning capacity never grew with daemons. So on
PostgreSQL each planning day is cut into shards, contiguous ranges of customer ids of
``planning.shard_size`` customers (``plan_shard``: ``lo`` exclusive, ``hi`` inclusive,
None open, so customers added later fall into the first or last shard). Every
daemon's planning tick, for each day in play:

1. makes the day's shards if it has none: under a transaction-level advisory lock
   on the day, so two daemons never write two different cuts of one day (and days a
   week older than it are deleted there);
2. claims one due shard at a time in one ``UPDATE ... WHERE shard = (SELECT ... FOR
   UPDATE SKIP LOCKED)``, which sets its lease (``owner``, ``lease_until`` =
   the daemon's clock + ``planning.shard_lease_seconds``, ``attempts`` + 1); a
   shard is due when it is queued, running with an expired lease (its daemon died or
   hangs), or done by a run whose "now" (``planned_at``) is at least half of
   ``daemon.plan_seconds`` old;
3. plans the range with :func:`~rapport.engine.planning.run.plan_range`, renewing the
   lease before writing each batch; a renewal that finds the shard taken over
   (another owner or a later claim: ``attempts`` is the fencing token) ends the
   range unwritten, and so does a stop (the shard is released and queued again at
   once);
4. marks the shard done with the run's "now", and claims the next, until no shard of
   the day is due. Shards running in other daemons are not waited for.

A customer is never planned for two days at once: a claim skips a shard whose id
range overlaps that of another day's shard running under a live lease (claims are
serialized by an advisory lock, so two daemons cannot both miss each other's), and
that shard is claimed once the other is done, at the latest when the tick reaches
its day again. So caps over several days (per week, per month) see every message
planned before, as they did when one planner planned the days in order.

This module is the table's side (cut, claim, renew, finish, release); the daemon's
side, which plans the shards it claims in its own process or in worker processes,
is :mod:`rapport.engine.planning.shared`.

Why this never duplicates nor loses a message: every outbox row is inserted with ON
CONFLICT DO NOTHING on the message's idempotency key and on (customer, campaign,
occasion), so a shard planned twice, or a batch written by a daemon whose lease had
already expired, adds nothing; and a shard whose daemon died before marking it done
is claimed again once its lease expires and planned from its first customer, so the
batches the dead daemon never wrote are written by another. The lease only keeps
daemons from doing the same work twice; correctness rests on the outbox's keys.

Re-planning: the single planner planned every day in play every tick (new customers,
consents and opened windows are picked up that way). A done shard is due again half
an interval after the run that planned it, so one daemon still plans every shard
every tick, and N daemons plan each shard about once per interval, not N times.

SQLite never comes here: one process plans there, as before.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, text, update

from rapport.engine.core.models import CUSTOMER, PLAN_SHARD

QUEUED, RUNNING, DONE = "queued", "running", "done"
#: The first key of the advisory lock a day's shards are made under ("RSHD"); the
#: second is the day's ordinal. Two-key locks never meet the planning lock's one key.
SHARD_LOCK_SPACE = 0x52534844
#: The second key of the lock claims take (no day has ordinal 0).
CLAIMS_LOCK = 0
#: Shards of days this much older than a day in play are deleted when it is cut.
KEEP = timedelta(days=7)
_S = PLAN_SHARD.c


@dataclass(frozen=True)
class Shard:
    """A shard this daemon holds: its range, and the claim (owner, attempts) fencing it."""

    day: date
    index: int
    lo: str | None
    hi: str | None
    owner: str
    attempts: int


def daemon_name() -> str:
    """Who holds a lease, for operators: host and process id (no personal data)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}"


def make_shards(connection: Connection, day: date, size: int) -> int:
    """Cut ``day`` into shards of ``size`` customers unless it has some; how many it has.

    Run in a transaction: the advisory lock is held until it ends, so a second daemon
    waits and then finds the first one's shards.
    """
    counted = select(func.count()).select_from(PLAN_SHARD).where(_S.day == day)
    existing = connection.execute(counted).scalar_one()
    if existing:  # nearly every tick: no lock taken
        return int(existing)
    key = {"space": SHARD_LOCK_SPACE, "day": day.toordinal()}
    connection.execute(text("SELECT pg_advisory_xact_lock(:space, :day)"), key)
    existing = connection.execute(counted).scalar_one()
    if existing:
        return int(existing)
    connection.execute(delete(PLAN_SHARD).where(_S.day < day - KEEP))
    numbered = select(
        CUSTOMER.c.id,
        func.row_number().over(order_by=CUSTOMER.c.id).label("n"),
        func.count().over().label("total"),
    ).subquery()
    every = and_(numbered.c.n % size == 0, numbered.c.n < numbered.c.total)  # none empty
    cuts = list(
        connection.execute(select(numbered.c.id).where(every).order_by(numbered.c.id)).scalars()
    )
    bounds: list[str | None] = [None, *cuts, None]
    rows = [
        {
            "day": day,
            "shard": i,
            "lo": bounds[i],
            "hi": bounds[i + 1],
            "status": QUEUED,
            "attempts": 0,
        }
        for i in range(len(bounds) - 1)
    ]
    connection.execute(insert(PLAN_SHARD), rows)
    return len(rows)


def _due(day: date, now: datetime, replan_before: datetime) -> Any:
    """Shards of ``day`` to plan now: queued, under an expired lease, or done too long ago."""
    return and_(
        _S.day == day,
        or_(
            _S.status == QUEUED,
            and_(_S.status == RUNNING, _S.lease_until < now),
            and_(_S.status == DONE, _S.planned_at <= replan_before),
        ),
    )


def count_due(connection: Connection, day: date, now: datetime, replan_before: datetime) -> int:
    """How many shards of ``day`` are due (how many processes a daemon could keep busy)."""
    counted = select(func.count()).select_from(PLAN_SHARD).where(_due(day, now, replan_before))
    return int(connection.execute(counted).scalar_one())


def claim(
    connection: Connection,
    day: date,
    owner: str,
    now: datetime,
    lease: timedelta,
    replan_before: datetime,
) -> Shard | None:
    """Take one due shard of ``day`` with a lease until ``now + lease``, or None.

    A shard whose customers another day's shard has under a live lease is left for
    later (see the module doc); claims wait for each other (a transaction-level
    advisory lock) so that two cannot both miss the other's.
    """
    key = {"space": SHARD_LOCK_SPACE, "claims": CLAIMS_LOCK}
    connection.execute(text("SELECT pg_advisory_xact_lock(:space, :claims)"), key)
    other = PLAN_SHARD.alias("other")
    busy = (
        select(other.c.shard)
        .where(
            other.c.day != _S.day,
            other.c.status == RUNNING,
            other.c.lease_until >= now,
            or_(other.c.hi.is_(None), _S.lo.is_(None), _S.lo < other.c.hi),
            or_(other.c.lo.is_(None), _S.hi.is_(None), other.c.lo < _S.hi),
        )
        .exists()
    )
    pick = (
        select(_S.shard)
        .where(_due(day, now, replan_before), ~busy)
        .order_by(_S.shard)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    row = connection.execute(
        update(PLAN_SHARD)
        .where(_S.day == day, _S.shard == pick)
        .values(status=RUNNING, owner=owner, lease_until=now + lease, attempts=_S.attempts + 1)
        .returning(_S.shard, _S.lo, _S.hi, _S.attempts)
    ).first()
    if row is None:
        return None
    return Shard(day, row.shard, row.lo, row.hi, owner, row.attempts)


def _held(shard: Shard) -> Any:
    """The WHERE clause of a write only the shard's current holder may make."""
    return and_(
        _S.day == shard.day,
        _S.shard == shard.index,
        _S.status == RUNNING,
        _S.owner == shard.owner,
        _S.attempts == shard.attempts,
    )


def renew(connection: Connection, shard: Shard, now: datetime, lease: timedelta) -> bool:
    """Extend the lease; False when the shard was taken over (or finished by another)."""
    done = connection.execute(
        update(PLAN_SHARD).where(_held(shard)).values(lease_until=now + lease)
    )
    return done.rowcount == 1


def finish(connection: Connection, shard: Shard, planned_at: datetime, now: datetime) -> bool:
    """Mark the shard done by the run of ``planned_at``; False when no longer held."""
    done = connection.execute(
        update(PLAN_SHARD)
        .where(_held(shard))
        .values(status=DONE, lease_until=None, planned_at=planned_at, finished_at=now)
    )
    return done.rowcount == 1


def release(connection: Connection, shard: Shard) -> None:
    """Give the shard back unfinished: any daemon may claim it at once."""
    connection.execute(
        update(PLAN_SHARD).where(_held(shard)).values(status=QUEUED, lease_until=None)
    )
