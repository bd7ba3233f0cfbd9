"""The engine under measurement: planning scenarios and dispatch.

The broadcast, trickle and repeat scenarios run the real
:func:`rapport.engine.planning.plan.run_plan` on the campaign folders
:func:`write_campaigns` writes, timed per stage by :mod:`bench.stages`;
:func:`deliver` dispatches one channel's queued messages into its sink. Each returns
a result (:class:`PlanResult`, :class:`DeliveryResult`) that the report prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from bench.stages import Stages, StatementCounter, Timer, instrumented, peak_rss_mib
from rapport.channels import smtp as smtp_module
from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import require_campaigns
from rapport.engine.core.config import ChannelConfig, Settings
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.delivery.lanes import build_channels
from rapport.engine.planning.plan import run_plan
from rapport.engine.rendering.renderer import Renderer

REPO = Path(__file__).resolve().parent.parent


def bench_settings(
    campaigns_dir: Path,
    database_url: str,
    smtp_url: str,
    sms_url: str,
    concurrency: int,
    workers: int = 0,
) -> Settings:
    base = Settings(base_dir=REPO, secret_key="bench-secret")
    return base.model_copy(
        update={
            "campaigns_dir": campaigns_dir,
            "planning": base.planning.model_copy(update={"workers": workers}),
            "database": base.database.model_copy(update={"url": database_url}),
            "channels": {
                "email": ChannelConfig(
                    adapter="smtp", kind="email", url=smtp_url, concurrency=concurrency
                ),
                "sms": ChannelConfig(
                    adapter="http_sms", kind="sms", url=sms_url, concurrency=concurrency
                ),
            },
        }
    )


def without_decisions(settings: Settings) -> Settings:
    """``settings`` with ``retention.decision_days: 0``: planning stores no decision."""
    retention = settings.retention.model_copy(update={"decision_days": 0})
    return settings.model_copy(update={"retention": retention})


#: The broadcast campaign's id (its file's name).
BROADCAST_ID = "bench-broadcast"


def forget_campaign(engine: Engine, campaign: str) -> int:
    """Remove a campaign's outbox rows and stored plan decisions (with the plan runs
    left without any), so that the same run can be planned again as if for the first
    time."""
    with engine.begin() as connection:
        removed = connection.execute(
            text("DELETE FROM outbox_message WHERE campaign = :campaign"), {"campaign": campaign}
        ).rowcount
        connection.execute(
            text("DELETE FROM plan_decision WHERE campaign = :campaign"), {"campaign": campaign}
        )
        connection.execute(
            text(
                "DELETE FROM plan_run WHERE NOT EXISTS "
                "(SELECT 1 FROM plan_decision WHERE plan_decision.plan_run = plan_run.id)"
            )
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE outbox_message"))
            connection.execute(text("VACUUM ANALYZE plan_decision"))
    return removed


BROADCAST = """\
# Written by the benchmark: the holiday offer to everyone eligible, once.
name: Bench broadcast
trigger:
  type: recurring
  cron: "0 10 {day} {month} *"
topic: offers
channels: [email, sms]
templates: holiday-offer
send_window:
  start: "10:00"
  end: "19:00"
offer:
  discount_percent: 20
priority: 50
"""


def write_campaigns(root: Path, day: date) -> dict[str, Path]:
    """Two campaign folders: the broadcast, and the daily trickle (birthday, reorder)."""
    broadcast = root / "broadcast"
    trickle = root / "trickle"
    broadcast.mkdir(parents=True, exist_ok=True)
    trickle.mkdir(parents=True, exist_ok=True)
    (broadcast / f"{BROADCAST_ID}.yaml").write_text(
        BROADCAST.format(day=day.day, month=day.month), encoding="utf-8"
    )
    for name in ("birthday.yaml", "reorder.yaml"):
        (trickle / name).write_text(
            (REPO / "campaigns" / name).read_text(encoding="utf-8"), encoding="utf-8"
        )
    return {"broadcast": broadcast, "trickle": trickle}


@dataclass
class PlanResult:
    name: str
    seconds: float
    customers: int
    candidates: int
    planned: int
    inserted: int
    already_planned: int
    skipped: dict[str, int]
    render_errors: int
    statements: int
    peak_rss_mib: float
    stages: dict[str, dict[str, float]]
    #: The paired render ceiling (see stages._paired_render), when the run measured it.
    render_pairs: dict[str, float] | None = None


def _pair_summary(ratios: list[float]) -> dict[str, float] | None:
    """Quartiles of raw-over-engine time per paired message. The median is the render
    fraction: one garbage collection or scheduler pause landing in either render of a
    pair moves a sum, but not the middle of thousands of pairs."""
    if not ratios:
        return None
    ordered = sorted(ratios)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    return {"pairs": len(ordered), "p25": at(0.25), "median": at(0.5), "p75": at(0.75)}


def run_scenario(
    name: str,
    engine: Engine,
    settings: Settings,
    renderer: Renderer,
    counter: StatementCounter,
    day: date,
    now: datetime,
    stages: Stages | None = None,
    *,
    timed_stages: bool = True,
) -> PlanResult:
    """One planning run; ``timed_stages=False`` runs the engine as it is, unwrapped (the
    stage timers cost about a microsecond a call, a few per message)."""
    stages = stages or Stages()
    campaigns = require_campaigns(settings)
    counter.take()
    started = time.perf_counter()
    wrapped = instrumented(stages, renderer) if timed_stages else contextlib.nullcontext()
    with wrapped:
        report = run_plan(
            engine,
            settings,
            campaigns,
            day,
            now,
            renderer=renderer,
            signer=Signer("bench-secret"),
        )
    seconds = time.perf_counter() - started
    skipped: dict[str, int] = {}
    for (_, reason), count in report.skipped.items():
        skipped[reason] = skipped.get(reason, 0) + count
    return PlanResult(
        name=name,
        seconds=seconds,
        customers=report.customers,
        candidates=report.candidates,
        planned=report.planned_total,
        inserted=report.inserted,
        already_planned=report.already_planned,
        skipped=skipped,
        render_errors=len(report.render_errors),
        statements=counter.take(),
        peak_rss_mib=peak_rss_mib(),
        stages={
            key: {"seconds": t.seconds, "calls": t.calls, "items": t.items}
            for key, t in stages.timers.items()
        },
        render_pairs=_pair_summary(stages.pair_ratios),
    )


@dataclass
class DeliveryResult:
    channel: str
    messages: int
    seconds: float
    sink_count: int
    connections: int
    statements: int
    p50_ms: float
    p99_ms: float
    outcomes: dict[str, int]
    mime_seconds: float = 0.0
    mime_messages: int = 0


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def deliver(
    engine: Engine,
    settings: Settings,
    channel: str,
    limit: int,
    clock_at: datetime,
    sink: Any,
    counter: StatementCounter,
) -> DeliveryResult:
    """Dispatch up to ``limit`` queued messages of one channel into its sink.

    The harness owns the database: it makes ``limit`` queued messages of this channel
    due now and parks the rest, so each channel is measured on its own.
    """
    later = clock_at.replace(tzinfo=None, year=clock_at.year + 1)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE outbox_message SET send_at = CASE WHEN channel = :channel AND id IN "
                "(SELECT id FROM outbox_message WHERE status = 'queued' AND channel = :channel "
                "ORDER BY id LIMIT :limit) THEN :now ELSE :later END WHERE status = 'queued'"
            ),
            {
                "now": clock_at.replace(tzinfo=None),
                "later": later,
                "channel": channel,
                "limit": limit,
            },
        )
    mime = Timer()
    original = smtp_module.build_email

    def timed_build(*args: Any, **kwargs: Any) -> bytes:
        started = time.perf_counter()
        data = original(*args, **kwargs)
        mime.seconds += time.perf_counter() - started
        mime.calls += 1
        return data

    smtp_module.build_email = timed_build  # type: ignore[assignment]
    before_sink, before_connections = sink.count, sink.connections
    dispatcher = Dispatcher(
        engine,
        settings,
        build_channels(settings),
        Signer("bench-secret"),
        clock=lambda: clock_at,
        worker_id="bench",
    )
    counter.take()

    async def go() -> Any:
        try:
            return await dispatcher.run_once()
        finally:
            await dispatcher.aclose()

    started = time.perf_counter()
    try:
        report = asyncio.run(go())
    finally:
        smtp_module.build_email = original  # type: ignore[assignment]
    seconds = time.perf_counter() - started
    latencies = [s for c, s in report.latencies if c == channel]
    return DeliveryResult(
        channel=channel,
        messages=sum(report.outcomes.values()),
        seconds=seconds,
        sink_count=sink.count - before_sink,
        connections=sink.connections - before_connections,
        statements=counter.take(),
        p50_ms=_percentile(latencies, 0.5) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        outcomes={f"{c}:{s}": n for (c, s), n in report.outcomes.items()},
        mime_seconds=mime.seconds,
        mime_messages=mime.calls,
    )
