"""Planning a day, the entry point: cut a large run into id ranges, fan them out.

A run with more candidates than one process should plan alone is cut into contiguous
ranges of customer ids (:func:`rapport.engine.planning.shards.split`); this process
plans the first range while worker processes plan the others, and the reports are
added up. Small runs, dry runs asked about named customers, and runs with a callback
stay in this process. Each range is planned by
:func:`rapport.engine.planning.run.plan_range`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Engine

from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Settings
from rapport.engine.customers.profiles import IdRange
from rapport.engine.customers.recommend import CoPurchase
from rapport.engine.delivery.statistics import analyze_if_grown
from rapport.engine.planning import shards
from rapport.engine.planning.prefilter import candidate_clause
from rapport.engine.planning.run import PlannedCallback, PlanReport, plan_range
from rapport.engine.rendering.renderer import Renderer


def run_plan(
    engine: Engine,
    settings: Settings,
    campaigns: Sequence[Campaign],
    day: date,
    now: datetime,
    *,
    renderer: Renderer,
    signer: Signer,
    dry_run: bool = False,
    on_planned: PlannedCallback | None = None,
    customer_ids: Sequence[str] | None = None,
    co_purchase: CoPurchase | None = None,
    id_range: IdRange | None = None,
) -> PlanReport:
    """Plan ``day`` for every customer; ``dry_run`` renders and reports but writes nothing.

    A large run is shared between processes by customer id range; ``id_range`` is
    the part one process plans. A run with ``on_planned`` or ``customer_ids`` stays in
    one process. A whole run that grew the outbox by a large share has it analysed
    (:mod:`rapport.engine.delivery.statistics`).
    """
    ranges: list[IdRange] = []  # the split, when this run is one to share
    where = None if customer_ids is not None else candidate_clause(campaigns, day, now, settings)
    if id_range is None and on_planned is None and customer_ids is None:
        with engine.connect() as reader:
            ranges = shards.split(reader, settings, engine.url, where)
    here = functools.partial(
        plan_range,
        engine,
        settings,
        campaigns,
        day,
        now,
        renderer=renderer,
        signer=signer,
        dry_run=dry_run,
        co_purchase=co_purchase,
        where=where,
    )
    if len(ranges) <= 1:
        first = ranges[0] if ranges else id_range
        report = here(on_planned=on_planned, customer_ids=customer_ids, id_range=first)
        if id_range is None:  # a whole run, not one part of a shared one
            analyze_if_grown(engine, report.inserted)
        return report
    url = engine.url.render_as_string(hide_password=False)
    jobs = [
        shards.job_for(
            url, settings, campaigns, day, now, renderer, signer, dry_run, co_purchase, part
        )
        for part in ranges[1:]
    ]
    with shards.pool(len(jobs)) as workers:
        futures = [workers.submit(shards.plan_shard, job) for job in jobs]
        report = here(id_range=ranges[0])
        for future in futures:
            report.add(future.result())
    analyze_if_grown(engine, report.inserted)
    return report
