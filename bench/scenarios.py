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
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
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
                    adapter="smtp", kind="email", url=smtp_url, concurrency=concurrency or None
                ),
                "sms": ChannelConfig(
                    adapter="http_sms", kind="sms", url=sms_url, concurrency=concurrency or None
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
    #: Measured as ``rapport dispatch --once``, a process of its own, start-up included
    #: (no latencies, SQL or MIME timings from inside it).
    command: bool = False


def make_due(
    engine: Engine, channel: str, limit: int, now: datetime, *, window: bool = False
) -> None:
    """Make ``limit`` queued messages of ``channel`` due at ``now`` and park the rest a
    year later; ``window``: their send windows also end a day after ``now`` (for a
    command that runs on the real clock, days after the planned day)."""
    at = now.astimezone(UTC).replace(tzinfo=None)
    due = (
        "channel = :channel AND id IN (SELECT id FROM outbox_message WHERE status = 'queued' "
        "AND channel = :channel ORDER BY id LIMIT :limit)"
    )
    ends = f", expires_at = CASE WHEN {due} THEN :ends ELSE expires_at END" if window else ""
    with engine.begin() as connection:
        connection.execute(
            text(
                f"UPDATE outbox_message SET send_at = CASE WHEN {due} THEN :now ELSE :later END"
                f"{ends} WHERE status = 'queued'"
            ),
            {
                "now": at,
                "later": at.replace(year=at.year + 1),
                "ends": at + timedelta(days=1),
                "channel": channel,
                "limit": limit,
            },
        )


#: Test suites of the standard library and of packages: large, and never imported.
_NEVER_IMPORTED = r"[/\\](tests?|idle_test)[/\\]"
#: Where :func:`installed_bytecode` keeps compiled modules between runs (ignored by git).
BYTECODE_CACHE = Path(__file__).resolve().parent / ".cache" / "bytecode"


def installed_bytecode(
    env: dict[str, str], prefix: Path = BYTECODE_CACHE, folders: list[str] | None = None
) -> dict[str, str]:
    """``env`` for a command that starts as an installed Rapport does: with the bytecode
    of every module it may import compiled beforehand (pip compiles each package as it
    installs it, and Python's own library ships compiled).

    An environment with ``PYTHONDONTWRITEBYTECODE`` (this one has it) would otherwise
    compile Rapport's own modules from source at every start, some 70 ms a pass that no
    deployment pays. The bytecode goes under ``prefix`` (``PYTHONPYCACHEPREFIX``), not
    into the checkout. That prefix is where Python then looks for *every* module's
    bytecode, the standard library's and site-packages' too, so all of the command's
    import path is compiled into it, not only Rapport: compiling SQLAlchemy, Click and
    the rest from source cost the one ``rapport dispatch --once`` of a run about 1.6 s
    of CPU (2.2 s against 0.6 s for a pass with nothing to send). ``compileall`` skips
    what is already up to date, so after the first run this takes a few seconds.
    ``folders`` narrows what is compiled (tests)."""
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(prefix)
    wanted = sorted({str(Path(p).resolve()) for p in folders or import_path(env)})
    # Not checked: the standard library and some packages ship files that do not
    # compile on purpose (bad-syntax test data), which no command imports. One process:
    # with a worker pool (-j 0) handing it each of the ~20,000 files, checking an
    # up-to-date cache took 11 s of CPU instead of 1.3 s, and a cold one 63 s, not 41 s.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "1", "-x", _NEVER_IMPORTED, *wanted],
        env=env,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return env


def import_path(env: dict[str, str]) -> list[str]:
    """The folders a command started with ``env`` imports from: the interpreter's
    ``sys.path`` as that command sees it, and Rapport's own (:func:`rapport_folders`)."""
    shown = subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sys.path))"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = [*json.loads(shown.stdout), *rapport_folders()]
    return [p for p in found if p and Path(p).is_dir()]


def rapport_folders() -> list[str]:
    """The source folders of Rapport's packages (package-dir maps them from the top of
    the checkout); compileall walks their subfolders."""
    import importlib

    names = (
        "rapport",
        "rapport.engine",
        "rapport.channels",
        "rapport.consent",
        "rapport.migrations",
    )
    return [p for name in names for p in importlib.import_module(name).__path__]


def deliver_by_command(
    engine: Engine, database_url: str, workdir: Path, limit: int, sink: Any
) -> DeliveryResult:
    """``rapport dispatch --once`` as its own process, start-up included, sending up to
    ``limit`` e-mails into ``sink`` with the defaults of an ``smtp://`` URL
    (``RAPPORT_SMTP_URL``): nothing else is configured but the database."""
    make_due(engine, "email", limit, datetime.now(UTC), window=True)
    config = workdir / "dispatch.yaml"
    config.write_text(f"database:\n  url: '{database_url}'\n", encoding="utf-8")
    env = {
        **installed_bytecode({k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}),
        "RAPPORT_SMTP_URL": sink.url,
        "RAPPORT_SECRET_KEY": "bench-secret",
    }
    command = [str(Path(sys.executable).parent / "rapport"), "dispatch", "--once", "--json"]
    before_sink, before_connections = sink.count, sink.connections
    with (workdir / "dispatch.log").open("wb") as log:  # its JSON log lines, as a service's
        started = time.perf_counter()
        done = subprocess.run(
            [*command, "--config", str(config)], env=env, stdout=subprocess.PIPE, stderr=log
        )
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"rapport dispatch exited {done.returncode}; see {workdir}/dispatch.log")
    report = json.loads(done.stdout)
    for _ in range(100):  # the sink's counter is read from its output: let it catch up
        settled = sink.count
        time.sleep(0.02)
        if sink.count == settled:
            break
    return DeliveryResult(
        channel="email",
        messages=sum(o["count"] for o in report["outcomes"]),
        seconds=seconds,
        sink_count=sink.count - before_sink,
        connections=sink.connections - before_connections,
        statements=0,
        p50_ms=0.0,
        p99_ms=0.0,
        outcomes={f"{o['channel']}:{o['status']}": o["count"] for o in report["outcomes"]},
        command=True,
    )


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
    make_due(engine, channel, limit, clock_at)
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
