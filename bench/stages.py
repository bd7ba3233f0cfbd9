"""The engine under measurement: planning scenarios and dispatch, timed per stage.

Planning runs the real :func:`rapport.engine.planning.plan.run_plan`. To split its time
into stages without changing the engine, the functions it calls are wrapped for the
duration of a run (customer batches, audiences, the pure planner, the message
context, the renderer and the outbox insert); each wrapper adds well under a
microsecond a call. The wrappers also keep a bounded sample of contexts and outbox
rows, which the ceilings replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text

from rapport.channels import smtp as smtp_module
from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import require_campaigns
from rapport.engine.core.config import ChannelConfig, Settings
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.delivery.lanes import build_channels
from rapport.engine.planning import run as planning
from rapport.engine.planning.plan import run_plan
from rapport.engine.rendering.filters import CUSTOMER_LOCALE
from rapport.engine.rendering.renderer import Renderer

REPO = Path(__file__).resolve().parent.parent
SAMPLE = 5_000


def peak_rss_mib() -> float:
    """Peak resident set of this process plus that of its largest finished child (the
    planning workers), so far; an upper bound of what the run held at once. Linux
    reports KiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024


class StatementCounter:
    """Counts SQL statements sent to the database (an executemany counts once)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        self.count += 1

    def take(self) -> int:
        count, self.count = self.count, 0
        return count


@dataclass
class Timer:
    seconds: float = 0.0
    calls: int = 0
    items: int = 0


@dataclass
class Samples:
    contexts: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    rendered: list[tuple[str, str, Any]] = field(default_factory=list)


@dataclass
class Stages:
    timers: dict[str, Timer] = field(default_factory=dict)
    samples: Samples = field(default_factory=Samples)
    #: Called with the number of customers read so far, after each batch.
    progress: Callable[[int], None] | None = None
    #: Render some messages twice, raw Jinja beside the engine (see _paired_render).
    pair_renders: bool = False
    #: Per paired message: raw Jinja's time over the engine's.
    pair_ratios: list[float] = field(default_factory=list)

    def timer(self, name: str) -> Timer:
        return self.timers.setdefault(name, Timer())


def _timed_generator(stages: Stages, name: str, inner: Callable[..., Any], size: Callable) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        timer = stages.timer(name)
        iterator = iter(inner(*args, **kwargs))
        while True:
            started = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                timer.seconds += time.perf_counter() - started
                return
            timer.seconds += time.perf_counter() - started
            timer.calls += 1
            timer.items += size(item)
            if name == "select" and stages.progress is not None:
                stages.progress(timer.items)
            yield item

    return wrapper


def _timed(
    stages: Stages, name: str, inner: Callable[..., Any], size: Callable, keep: Callable | None
) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        timer = stages.timer(name)
        started = time.perf_counter()
        result = inner(*args, **kwargs)
        timer.seconds += time.perf_counter() - started
        timer.calls += 1
        timer.items += size(args, result)
        if keep is not None:
            keep(args, kwargs, result)
        return result

    return wrapper


#: Every this many messages, the broadcast also renders the message with raw Jinja.
PAIR_EVERY = 8


def _paired_render(stages: Stages, renderer: Renderer, keep: Callable) -> Any:
    """The renderer, timed; and every :data:`PAIR_EVERY`-th message also rendered
    with raw Jinja (``Template.render`` of the same compiled templates and context)
    right before or after it, alternately.

    The pairs are the render ceiling measured under the engine's own conditions: the
    same moment, the same machine load, caches as warm or cold as planning leaves
    them. A separate tight loop over the sample (``ceilings.raw_render``) runs with
    every template hot and is reported beside it.
    """
    inner = renderer.render
    timer = stages.timer("render")
    pairs = stages.timer("render_pairs_engine")
    raw = stages.timer("render_pairs_raw")

    def raw_render(template_set: str, kind: str, locale: str, context: Any) -> float:
        templates = renderer._resolved[(template_set, kind, locale)][1].values()
        started = time.perf_counter()
        token = CUSTOMER_LOCALE.set(locale)
        for template in templates:
            template.render(context)
        CUSTOMER_LOCALE.reset(token)
        return time.perf_counter() - started

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        paired = (
            stages.pair_renders
            and timer.calls % PAIR_EVERY == 0
            and (args[0], args[1], args[2]) in renderer._resolved
        )
        raw_first = paired and pairs.calls % 2 == 0
        raw_took = raw_render(*args) if raw_first else 0.0
        started = time.perf_counter()
        result = inner(*args, **kwargs)
        took = time.perf_counter() - started
        if paired and not raw_first:
            raw_took = raw_render(*args)
        timer.seconds += took
        timer.calls += 1
        timer.items += 1
        if paired:
            raw.seconds += raw_took
            stages.pair_ratios.append(raw_took / took if took > 0 else 1.0)
            pairs.seconds += took
            pairs.calls += 1
            pairs.items += 1
            raw.calls += 1
            raw.items += 1
        keep(args, kwargs, result)
        return result

    return wrapper


@contextlib.contextmanager
def instrumented(stages: Stages, renderer: Renderer) -> Iterator[None]:
    """Wrap the functions ``run_plan`` calls; restore them afterwards."""
    samples = stages.samples

    def keep_context(args: Any, kwargs: Any, result: Any) -> None:
        stages._last_context = result  # type: ignore[attr-defined]

    def keep_render(args: Any, kwargs: Any, result: Any) -> None:
        if len(samples.contexts) < SAMPLE:
            template_set, kind, locale, context = args
            samples.contexts.append((template_set, kind, locale, context))
            samples.rendered.append((kind, locale, result))

    def keep_rows(args: Any, kwargs: Any, result: Any) -> None:
        room = SAMPLE - len(samples.rows)
        if room > 0:
            samples.rows.extend(args[1][:room])

    patches: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, replacement: Any) -> None:
        if hasattr(owner, name):
            patches.append((owner, name, getattr(owner, name)))
            setattr(owner, name, replacement)

    patch(
        planning,
        "iter_profile_batches",
        _timed_generator(stages, "select", planning.iter_profile_batches, len),
    )
    patch(
        planning,
        "audiences_for",
        _timed(stages, "audiences", planning.audiences_for, lambda a, r: len(a[1]), None),
    )
    patch(
        planning,
        "plan",
        _timed_generator(stages, "plan", planning.plan, lambda d: int(d.selected)),
    )
    patch(
        planning,
        "message_context",
        _timed(stages, "context", planning.message_context, lambda a, r: 1, None),
    )
    # The write stage is the insert and its commit, as in the raw insert ceiling.
    patch(
        planning,
        "write_batch",
        _timed(stages, "write", planning.write_batch, lambda a, r: len(a[1]), keep_rows),
    )
    patch(renderer, "render", _paired_render(stages, renderer, keep_render))
    try:
        yield
    finally:
        for owner, name, original in reversed(patches):
            if owner is renderer:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


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


#: The broadcast campaign's id (its file's name).
BROADCAST_ID = "bench-broadcast"


def forget_campaign(engine: Engine, campaign: str) -> int:
    """Remove a campaign's outbox rows, so that the same run can be planned again."""
    with engine.begin() as connection:
        removed = connection.execute(
            text("DELETE FROM outbox_message WHERE campaign = :campaign"), {"campaign": campaign}
        ).rowcount
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE outbox_message"))
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
    #: The paired render ceiling (see _paired_render), when the run measured it.
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
