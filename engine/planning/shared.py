"""A daemon's share of planning a day: the shards it claims, planned here or in workers.

On PostgreSQL every daemon plans (:mod:`rapport.engine.planning.shard_leases` holds the
shards, their leases and why no message is doubled or lost); elsewhere the daemon
holding the planning lock plans the whole day with
:func:`~rapport.engine.planning.plan.run_plan`, as ``rapport plan`` does
(:func:`day_planner` chooses).

A daemon plans one claimed shard at a time in its own process; when the day has more
due shards than that and ``planning.workers`` allows more processes (default: one
per core), it keeps that many worker processes busy instead, one shard each, claiming
the next as one ends (workers started with ``spawn``, dying with the daemon:
:mod:`rapport.engine.planning.shards`). Each process renews its shard's lease before
writing each batch. A stop ends the shard planned in the daemon's own process between
batches and releases it; a worker's shard runs to its end (or is cut off with the
daemon, its lease then expiring), and no new shard is claimed.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine

from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.db import in_memory, make_engine
from rapport.engine.core.timeutil import Clock, utcnow
from rapport.engine.customers.recommend import CoPurchase
from rapport.engine.delivery.statistics import analyze_if_grown
from rapport.engine.planning import shard_leases, shards
from rapport.engine.planning.plan import run_plan
from rapport.engine.planning.prefilter import candidate_clause
from rapport.engine.planning.run import PlanReport, plan_range
from rapport.engine.planning.run_lock import planning_run
from rapport.engine.planning.shard_leases import Shard
from rapport.engine.planning.shards import ShardJob
from rapport.engine.rendering.renderer import Renderer

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The shard's lease was taken over: this process stops planning it."""


class Stopping(Exception):
    """The daemon is stopping: the shard is released unfinished."""


def plan_shard(
    engine: Engine,
    run: ShardJob,
    shard: Shard,
    clock: Clock,
    stop: Callable[[], bool],
    where: ColumnElement[bool] | None = None,
) -> PlanReport | None:
    """Plan one shard this process holds (``run``: the day's run, whose id range is the
    shard's) and mark it done; None when its lease was lost or a stop ended it
    (released). ``where``: the day's pre-filter, if built."""
    lease = timedelta(seconds=run.settings.planning.shard_lease_seconds)

    def keep() -> None:  # before each batch's write
        if stop():
            raise Stopping
        with engine.begin() as connection:
            if not shard_leases.renew(connection, shard, clock(), lease):
                raise LeaseLost

    try:
        part = plan_range(
            engine,
            run.settings,
            run.campaigns,
            run.day,
            run.now,
            renderer=run.renderer,
            signer=run.signer,
            co_purchase=run.co_purchase,
            id_range=run.id_range,
            where=where,
            before_write=keep,
        )
    except LeaseLost:
        log.warning("lost the lease of a planning shard", extra=_fields(shard))
        return None
    except Stopping:  # any daemon may take it at once
        _release(engine, shard)
        return None
    except BaseException:
        _release(engine, shard)
        raise
    with engine.begin() as connection:
        finished = shard_leases.finish(connection, shard, run.now, clock())
    log.info(
        "planned shard %d of %s: %d new",
        shard.index,
        run.day.isoformat(),
        part.inserted,
        extra={**_fields(shard), "inserted": part.inserted, "finished": finished},
    )
    return part


def plan_shard_in_worker(run: ShardJob, shard: Shard) -> PlanReport | None:
    """Runs in a worker process: plan one shard its daemon claimed, with fresh connections."""
    engine = make_engine(run.database_url)
    try:
        return plan_shard(engine, run, shard, utcnow, stop=lambda: False)
    finally:
        engine.dispose()


class ShardPlanner:
    """One daemon's side of shared planning: plan whatever shards of a day are due."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        renderer: Renderer,
        signer: Signer,
        clock: Clock,
        stop: Callable[[], bool],
        owner: str | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.renderer = renderer
        self.signer = signer
        self.clock = clock
        self.stop = stop
        self.owner = owner or shard_leases.daemon_name()
        self.lease = timedelta(seconds=settings.planning.shard_lease_seconds)

    def plan(
        self,
        campaigns: Sequence[Campaign],
        day: date,
        now: datetime,
        co_purchase: CoPurchase | None = None,
    ) -> PlanReport:
        """Plan the due shards of ``day`` at ``now``; the report adds up this daemon's."""
        settings = self.settings
        url = self.engine.url.render_as_string(hide_password=False)
        run = shards.job_for(
            url,
            settings,
            campaigns,
            day,
            now,
            self.renderer,
            self.signer,
            False,
            co_purchase,
            (None, None),
        )
        replan_before = now - timedelta(seconds=settings.daemon.plan_seconds / 2)
        with self.engine.begin() as connection:
            shard_leases.make_shards(connection, day, settings.planning.shard_size)
            due = shard_leases.count_due(connection, day, self.clock(), replan_before)
        processes = min(shards.worker_count(settings), due)
        if processes > 1 and not in_memory(self.engine.url):
            return self._in_workers(run, processes, replan_before)
        report = PlanReport(day=day)
        where = candidate_clause(campaigns, day, now, settings)
        while not self.stop() and (shard := self._claim(day, replan_before)) is not None:
            part = plan_shard(self.engine, _for(run, shard), shard, self.clock, self.stop, where)
            if part is not None:
                report.add(part)
        return report

    def _in_workers(self, run: ShardJob, processes: int, replan_before: datetime) -> PlanReport:
        """Keep ``processes`` workers planning one claimed shard each until none is due."""
        report = PlanReport(day=run.day)
        running: set[Future[PlanReport | None]] = set()
        with shards.pool(processes) as workers:
            while True:
                while len(running) < processes and not self.stop():
                    shard = self._claim(run.day, replan_before)
                    if shard is None:
                        break
                    running.add(workers.submit(plan_shard_in_worker, _for(run, shard), shard))
                if not running:
                    return report
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    if (part := future.result()) is not None:
                        report.add(part)

    def _claim(self, day: date, replan_before: datetime) -> Shard | None:
        with self.engine.begin() as connection:
            return shard_leases.claim(
                connection, day, self.owner, self.clock(), self.lease, replan_before
            )


def _for(run: ShardJob, shard: Shard) -> ShardJob:
    """The day's run, cut to the shard's id range."""
    return dataclasses.replace(run, id_range=(shard.lo, shard.hi))


def _release(engine: Engine, shard: Shard) -> None:
    try:
        with engine.begin() as connection:
            shard_leases.release(connection, shard)
    except Exception:  # the lease expires anyway
        log.warning("could not release a planning shard", extra=_fields(shard))


def _fields(shard: Shard) -> dict[str, Any]:
    return {
        "day": shard.day.isoformat(),
        "shard": shard.index,
        "attempts": shard.attempts,
        "owner": shard.owner,
    }


#: How a daemon plans one day: (campaigns, day, now, co_purchase) -> this daemon's report.
DayPlanner = Callable[[Sequence[Campaign], date, datetime, "CoPurchase | None"], PlanReport]


def day_planner(
    engine: Engine,
    settings: Settings,
    renderer: Renderer,
    signer: Signer,
    clock: Clock,
    stopped: threading.Event,
) -> DayPlanner:
    """The daemon's way to plan a day: the due shards, shared with every other daemon,
    on PostgreSQL; the whole day in one :func:`run_plan` elsewhere (SQLite, one
    planner at a time). ``stopped`` set ends a shard between batches."""
    if engine.dialect.name == "postgresql":
        planner = ShardPlanner(
            engine, settings, renderer=renderer, signer=signer, clock=clock, stop=stopped.is_set
        )

        def shared(
            campaigns: Sequence[Campaign], day: date, now: datetime, co_purchase: CoPurchase | None
        ) -> PlanReport:
            with planning_run(engine, shared=True):  # daemons together, apart from a plan by hand
                report = planner.plan(campaigns, day, now, co_purchase)
            analyze_if_grown(engine, report.inserted)  # what this daemon added
            return report

        return shared

    def alone(
        campaigns: Sequence[Campaign], day: date, now: datetime, co_purchase: CoPurchase | None
    ) -> PlanReport:
        with planning_run(engine):  # apart from a `rapport plan` by hand
            return run_plan(
                engine,
                settings,
                campaigns,
                day,
                now,
                renderer=renderer,
                signer=signer,
                co_purchase=co_purchase,
            )

    return alone
