"""The decisions a real plan made, stored so that ``rapport explain`` can show them.

Recomputing a decision later can give another answer: a message counted since, a
consent given, a window closed. So a real (not dry) run stores what it decided, per
(customer, campaign, planning day), in ``plan_decision``, compactly:

* the reason as its stable code (:class:`~rapport.engine.planning.planner.Reason`),
  the detail cut to :data:`DETAIL_MAX` characters, the A/B variant, and the plan run
  (``plan_run``: the planning day and the run's "now"), nothing else;
* not ``no_occasion`` (nearly every pair on most days; explain recomputes it) and not
  ``already_planned`` (the run that planned the message stored why; every later tick
  of the same day would otherwise rewrite a broadcast's worth of rows);
* only for the customers the run reads: its SQL pre-filter leaves out those no
  campaign could message that day, and explain recomputes theirs;
* in the transaction that writes the same batch's outbox rows
  (:func:`rapport.engine.planning.run.write_batch`): one executemany of one prepared
  statement per batch (a 300,000-customer broadcast on SQLite: 0.5-0.8 s of each
  planning process's ~18 s of CPU, keeping and writing 189,001 decisions).

A later run of the same day (the daemon plans the days in play every tick) keeps one
row per (customer, campaign, day) and replaces it only when it decided something
else, with these exceptions, so the row says what decided the outcome:

* a stored ``selected`` or ``holdout`` is final: the message was planned (or recorded
  as held out); what becomes of it is the outbox's story;
* a later ``cap_reached`` does not replace ``lost_to_priority``: the cap that later
  run sees was filled by the very message that won.

An unchanged decision keeps the run that first made it. The primary key
(day, customer_id, campaign) serves explain (one customer on one day) and pruning
(every day before a cutoff) alike; there are no foreign keys (PostgreSQL would check
each row against ``customer`` on insert). :func:`prune_decisions` removes the days
older than ``retention.decision_days``, in batches (the daemon's nightly retention
job).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, select

from rapport.engine.core.db import upsert_insert
from rapport.engine.core.models import PLAN_DECISION, PLAN_RUN
from rapport.engine.core.text import counted
from rapport.engine.planning.planner import Decision, Reason

log = logging.getLogger(__name__)

#: Stored details are cut to this many characters (they are one line of prose).
DETAIL_MAX = 200
#: Reasons never stored (see the module doc).
NOT_STORED = frozenset({Reason.NO_OCCASION, Reason.ALREADY_PLANNED})
#: Stored reasons a later run never replaces.
FINAL = (Reason.SELECTED, Reason.HOLDOUT)
#: Rows deleted per transaction when pruning (about: whole customers at a time).
PRUNE_BATCH = 5000


class DecisionLog:
    """The decisions of one process's part of a run, written batch by batch.

    The run's ``plan_run`` row is made (or, by a worker process of the same run,
    found) when the first decision is written: a tick that decides nothing new
    leaves no run behind.
    """

    def __init__(self, day: date, now: datetime) -> None:
        self.day = day
        self.now = now
        #: (customer_id, campaign, reason, detail, variant) of each kept decision.
        self.rows: list[tuple[str, str, str, str, str | None]] = []
        self.run_id: int | None = None
        self.written = 0
        self._sql: str | None = None
        #: PostgreSQL: no batch of this run has met a stored decision yet.
        self._fresh = True

    def add(
        self, decision: Decision, reason: Reason | None = None, detail: str | None = None
    ) -> None:
        """Keep ``decision`` for the next write (``reason``/``detail`` override its own:
        a render error). ``no_occasion`` and ``already_planned`` are not kept."""
        code = reason or decision.reason
        if code in NOT_STORED:
            return
        text = decision.detail if detail is None else detail
        self.rows.append(
            (
                decision.customer_id,
                decision.campaign,
                code.value,
                text[:DETAIL_MAX],
                decision.variant,
            )
        )

    def write(self, connection: Connection) -> int:
        """Write the kept rows in ``connection``'s transaction; returns how many were sent
        (inserted, replaced or left as they were)."""
        if not self.rows:
            return 0
        postgresql = connection.dialect.name == "postgresql"
        if self._sql is None:
            self.run_id = plan_run_id(connection, self.day, self.now)
            source = _INCOMING if postgresql else None
            self._sql = upsert_sql(connection.dialect.name, self.day, self.run_id, source)
        rows, self.rows = self.rows, []
        if postgresql:
            assert self.run_id is not None
            fresh = self.day if self._fresh else None
            self._fresh = _copy_upsert(connection, self._sql, rows, self.run_id, fresh)
        else:
            # The driver's executemany of one prepared statement: no per-row work in
            # SQLAlchemy (a third of the time of ``connection.execute(table.insert(), dicts)``).
            connection.exec_driver_sql(self._sql, rows)
        self.written += len(rows)
        return len(rows)


#: PostgreSQL: the session-local table a batch's decisions are copied into.
_INCOMING = "rapport_incoming_decisions"
_COLUMNS = "customer_id, campaign, reason, detail, variant"


def _copy_upsert(
    connection: Connection, sql: str, rows: list[tuple], run_id: int, fresh: date | None
) -> bool:
    """PostgreSQL: write a batch's decisions with ``COPY``; returns whether the next
    batch may again be copied straight into the table.

    psycopg's executemany sends a statement per row (pipelined, but each parsed and
    planned: ~40 ms a batch of 1,000, most of a broadcast's writing time after the
    outbox's own COPY). While a run meets no stored decision (``fresh`` is then the
    run's day: a day's first run) the rows are copied straight into ``plan_decision`` under a
    savepoint; the first unique violation undoes that copy and, for it and the rest
    of the run, the rows are copied into a temporary table and upserted from there
    in one statement (``sql``). ``ON CONFLICT DO UPDATE`` refuses to touch a row twice
    in one statement, so a pair given twice keeps its last decision, as the
    row-by-row upsert would.
    """
    from rapport.engine.delivery.outbox import binary_types, copied, copy_rows  # PostgreSQL only

    latest = list({(row[0], row[1]): row for row in rows}.values())
    driver = connection.connection.driver_connection
    assert driver is not None  # None only for a closed connection
    cursor = driver.cursor()
    columns = _COLUMNS.split(", ")
    try:
        if fresh is not None:
            direct = ["day", *columns, "plan_run"]
            every = ((fresh, *r, run_id) for r in latest)
            if copied(cursor, "plan_decision", direct, every, binary_types(PLAN_DECISION, direct)):
                return True
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_INCOMING} ON COMMIT DELETE ROWS AS "
            f"SELECT {_COLUMNS} FROM plan_decision WITH NO DATA"
        )
        copy_rows(cursor, _INCOMING, columns, latest, binary_types(PLAN_DECISION, columns))
        cursor.execute(sql)
        cursor.execute(f"DELETE FROM {_INCOMING}")
    finally:
        cursor.close()
    return False


def plan_run_id(connection: Connection, day: date, started_at: datetime) -> int:
    """The id of the run planning ``day`` at ``started_at``, made if it is new (the
    processes of one run share it)."""
    connection.execute(
        upsert_insert(connection, PLAN_RUN)
        .values(day=day, started_at=started_at)
        .on_conflict_do_nothing()
    )
    return int(
        connection.execute(
            select(PLAN_RUN.c.id).where(PLAN_RUN.c.day == day, PLAN_RUN.c.started_at == started_at)
        ).scalar_one()
    )


def upsert_sql(dialect: str, day: date, run_id: int, source: str | None = None) -> str:
    """The statement writing one run's decisions of ``day``: the day and run are
    literals (a date's ISO text and an int), the five other columns parameters, or,
    with ``source``, the columns of that table's rows."""
    mark = "?" if dialect == "sqlite" else "%s"
    final = ", ".join(f"'{reason.value}'" for reason in FINAL)
    values = (
        f"VALUES ('{day.isoformat()}', {', '.join([mark] * 5)}, {int(run_id)}) "
        if source is None
        else f"SELECT DATE '{day.isoformat()}', {_COLUMNS}, {int(run_id)} FROM {source} "
    )
    return (
        "INSERT INTO plan_decision "
        "(day, customer_id, campaign, reason, detail, variant, plan_run) "
        f"{values}"
        "ON CONFLICT (day, customer_id, campaign) DO UPDATE SET "
        "reason = excluded.reason, detail = excluded.detail, variant = excluded.variant, "
        "plan_run = excluded.plan_run "
        f"WHERE plan_decision.reason NOT IN ({final}) "
        f"AND NOT (plan_decision.reason = '{Reason.LOST_TO_PRIORITY.value}' "
        f"AND excluded.reason = '{Reason.CAP_REACHED.value}') "
        "AND (plan_decision.reason <> excluded.reason "
        "OR plan_decision.detail <> excluded.detail "
        # NULL-safe: a variant appearing or going away is a change.
        "OR COALESCE(plan_decision.variant, '') <> COALESCE(excluded.variant, ''))"
    )


@dataclass(frozen=True)
class StoredDecision:
    """A stored decision, with the run that made it."""

    customer_id: str
    campaign: str
    day: date
    reason: str
    detail: str
    variant: str | None
    plan_run: int
    planned_at: datetime


def stored_decisions(
    connection: Connection, customer_ids: Sequence[str], day: date
) -> dict[str, dict[str, StoredDecision]]:
    """customer id -> campaign -> the stored decision of ``day`` (none: not stored)."""
    found: dict[str, dict[str, StoredDecision]] = {}
    if not customer_ids:
        return found
    query = (
        select(PLAN_DECISION, PLAN_RUN.c.started_at)
        .join(PLAN_RUN, PLAN_RUN.c.id == PLAN_DECISION.c.plan_run, isouter=True)
        .where(PLAN_DECISION.c.day == day, PLAN_DECISION.c.customer_id.in_(list(customer_ids)))
    )
    for row in connection.execute(query):
        found.setdefault(row.customer_id, {})[row.campaign] = StoredDecision(
            customer_id=row.customer_id,
            campaign=row.campaign,
            day=row.day,
            reason=row.reason,
            detail=row.detail,
            variant=row.variant,
            plan_run=row.plan_run,
            planned_at=row.started_at,
        )
    return found


@dataclass
class DecisionPruneReport:
    cutoff: date
    deleted: int = 0
    runs: int = 0
    batches: int = 0
    stopped: bool = False

    def summary(self) -> str:
        end = " (stopped early; run it again to go on)" if self.stopped else ""
        return (
            f"plan decisions: deleted {counted(self.deleted, 'decision')} and "
            f"{counted(self.runs, 'plan run')} "
            f"of days before {self.cutoff.isoformat()}{end}"
        )


def prune_decisions(
    engine: Engine,
    *,
    days: int,
    today: date,
    batch_size: int = PRUNE_BATCH,
    stop: Callable[[], bool] | None = None,
) -> DecisionPruneReport:
    """Delete the decisions (and plan runs) of planning days more than ``days`` before
    ``today``, a batch of customers of one day per transaction, in key order."""
    cutoff = today - timedelta(days=days)
    report = DecisionPruneReport(cutoff=cutoff)
    table = PLAN_DECISION.c
    while True:
        if stop is not None and stop():
            report.stopped = True
            break
        with engine.begin() as connection:
            oldest = connection.execute(
                select(func.min(table.day)).where(table.day < cutoff)
            ).scalar_one()
            if oldest is None:
                break
            ids = list(
                connection.execute(
                    select(table.customer_id)
                    .where(table.day == oldest)
                    .order_by(table.customer_id)
                    .limit(batch_size)
                ).scalars()
            )
            report.deleted += connection.execute(
                delete(PLAN_DECISION).where(
                    table.day == oldest, table.customer_id.between(ids[0], ids[-1])
                )
            ).rowcount
            report.batches += 1
    if not report.stopped:
        with engine.begin() as connection:
            report.runs = connection.execute(
                delete(PLAN_RUN).where(PLAN_RUN.c.day < cutoff)
            ).rowcount
    log.info(
        "plan decisions retention: %d decision(s) deleted",
        report.deleted,
        extra={"deleted": report.deleted, "cutoff": cutoff.isoformat(), "stopped": report.stopped},
    )
    return report
