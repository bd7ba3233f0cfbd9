"""Sharing one planning run between processes, by ranges of customer ids.

Planning is CPU-bound Python (deciding, building contexts, rendering), so one process
uses one core. A large run is cut into contiguous id ranges of about equal size; the
calling process plans the first range and worker processes plan the others, each with
its own database connections. Ranges never overlap, so the outbox's idempotency keys
and per-customer caps hold exactly as in one process; the reports are added up.

Workers are started with ``spawn`` (not ``fork``): the daemon calls this from a
scheduler thread, and a forked child of a threaded process can inherit held locks.
A worker dies with the process that started it (:func:`die_with_parent`): a killed
``rapport plan`` leaves no idle worker behind, waiting for work that never comes.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import URL, ColumnElement, Connection, func, select

from rapport.engine.core.config import Settings
from rapport.engine.core.db import in_memory, make_engine
from rapport.engine.core.models import CUSTOMER
from rapport.engine.customers.profiles import IdRange
from rapport.engine.planning.run import PlanReport, plan_range
from rapport.engine.rendering.renderer import Renderer

if TYPE_CHECKING:
    from rapport.consent.tokens import Signer
    from rapport.engine.campaigns.model import Campaign
    from rapport.engine.customers.recommend import CoPurchase


def worker_count(settings: Settings) -> int:
    configured = settings.planning.workers
    return configured if configured > 0 else max(1, os.cpu_count() or 1)


def split(
    connection: Connection,
    settings: Settings,
    url: URL,
    where: ColumnElement[bool] | None = None,
) -> list[IdRange]:
    """Id ranges of about equal size for this run: one (everything) unless the run is
    large enough to share and its database can be reached from another process.

    ``where`` is the run's pre-filter: a tick that reads few customers stays in one
    process, and a broadcast is cut so that each range holds as many candidates.
    """
    workers = worker_count(settings)
    if workers <= 1 or in_memory(url):
        return [(None, None)]
    ids = select(CUSTOMER.c.id)
    if where is not None:
        ids = ids.where(where)
    total = connection.execute(select(func.count()).select_from(ids.subquery())).scalar_one()
    shards = min(workers, total // settings.planning.min_customers_per_worker)
    if shards <= 1:
        return [(None, None)]
    cuts: list[str] = []
    for k in range(1, shards):
        cut = connection.execute(
            ids.order_by(CUSTOMER.c.id).offset(total * k // shards - 1).limit(1)
        ).scalar_one()
        if not cuts or cut > cuts[-1]:
            cuts.append(cut)
    bounds: list[str | None] = [None, *cuts, None]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


@dataclass(frozen=True)
class ShardJob:
    """What a worker process needs to plan its range: plain, picklable values only."""

    database_url: str
    settings: Settings
    campaigns: Sequence[Campaign]
    day: date
    now: datetime
    #: Pickled as its recipe: the worker compiles its own templates.
    renderer: Renderer
    signer: Signer
    dry_run: bool
    #: None: the worker builds it if one of its messages shows a recommendation.
    co_purchase: CoPurchase | None
    id_range: IdRange


def plan_shard(job: ShardJob) -> PlanReport:
    """Runs in a worker process: plan one id range with fresh connections."""
    engine = make_engine(job.database_url)
    try:
        return plan_range(
            engine,
            job.settings,
            job.campaigns,
            job.day,
            job.now,
            renderer=job.renderer,
            signer=job.signer,
            dry_run=job.dry_run,
            co_purchase=job.co_purchase,
            id_range=job.id_range,
        )
    finally:
        engine.dispose()


#: prctl(2) option: the signal this process gets when the thread that started it ends.
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Runs first in every worker: be killed when ``parent`` dies.

    A worker blocks reading its pool's queue, whose write end it holds itself, so the
    death of its parent alone never wakes it. On Linux the kernel sends it SIGKILL
    when the parent goes (``PR_SET_PDEATHSIG``); the parent may have died before that
    was set, so a worker whose parent is no longer ``parent`` exits at once (the only
    safeguard on other systems).
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os._exit(1)


def pool(processes: int) -> ProcessPoolExecutor:
    """Spawned worker processes that die with this one (see :func:`die_with_parent`).

    On Linux the kernel ties a worker to the *thread* that started it (workers start on
    ``submit``): a pool must be fed by a thread that outlives its work, as
    :func:`~rapport.engine.planning.plan.run_plan` does with its own.
    """
    return ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )


def job_for(
    database_url: str,
    settings: Settings,
    campaigns: Sequence[Campaign],
    day: date,
    now: datetime,
    renderer: Renderer,
    signer: Signer,
    dry_run: bool,
    co_purchase: CoPurchase | None,
    id_range: IdRange,
) -> ShardJob:
    return ShardJob(
        database_url=database_url,
        settings=settings,
        campaigns=list(campaigns),
        day=day,
        now=now,
        renderer=renderer,
        signer=signer,
        dry_run=dry_run,
        co_purchase=co_purchase,
        id_range=id_range,
    )
