"""One benchmark run on one database: data, scenarios, delivery, ceilings, results."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench import ceilings, data, postfix, report
from bench.postfix import SMTPSinkC
from bench.scenarios import (
    BROADCAST_ID,
    REPO,
    PlanResult,
    bench_settings,
    deliver,
    deliver_by_command,
    forget_campaign,
    run_scenario,
    without_decisions,
    write_campaigns,
)
from bench.sinks import HTTPSink, SMTPSink
from bench.stages import Stages, StatementCounter, peak_rss_mib
from rapport.channels.mime import envelope_address, message_id_for
from rapport.channels.smtp import SMTPChannel
from rapport.engine.campaigns.model import require_campaigns
from rapport.engine.core.db import make_engine, upgrade
from rapport.engine.delivery.lanes import build_channels
from rapport.engine.planning.prefilter import candidate_clause
from rapport.engine.planning.shards import worker_count
from rapport.engine.rendering.renderer import Renderer

DAY = date(2026, 12, 1)
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class Progress:
    """One status line on stderr, rewritten in place on a terminal."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._last = 0.0
        self._started = time.perf_counter()
        self._label = ""

    def stage(self, label: str) -> None:
        self._label = label
        self._started = time.perf_counter()
        self._show(f"{label} ...", force=True)

    def update(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self._last < 0.25 and done < total:
            return
        self._last = now
        elapsed = now - self._started
        pace = done / elapsed if elapsed else 0
        self._show(f"{self._label}: {done:,}/{total:,} ({pace:,.0f}/s, {elapsed:.1f} s)")

    def done(self, detail: str = "") -> None:
        elapsed = time.perf_counter() - self._started
        self._show(f"{self._label}: done in {elapsed:.1f} s {detail}", force=True, end=True)

    def _show(self, line: str, force: bool = False, end: bool = False) -> None:
        if self.quiet or (not self.tty and not force):
            return
        if self.tty:
            sys.stderr.write("\r\033[K" + line + ("\n" if end else ""))
        elif end or force:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh database URL; a PostgreSQL database is created and dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"rapport_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(
    kind: str,
    customers: int,
    *,
    deliver_limit: int = 10_000,
    concurrency: int = 4,
    workers: int = 0,
    progress: Progress | None = None,
    email_sink: str = "python",
) -> dict[str, Any]:
    """Everything for one database; returns the result as plain data.

    ``concurrency`` 0: each channel's default (its adapter's). ``email_sink``
    ``smtp-sink``: e-mail goes to postfix's C sink (:mod:`bench.postfix`), sent by
    ``rapport dispatch --once`` as a process of its own, and postfix's ``smtp-source``
    is measured into the same sink; ``python``: an aiosmtpd sink and the in-process
    dispatcher."""
    progress = progress or Progress(quiet=True)
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    broadcast_now = datetime.combine(DAY, clock_time(9, 30), tzinfo=UTC)
    trickle_day = DAY + timedelta(days=1)
    trickle_now = broadcast_now + timedelta(days=1)
    with (
        tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp,
        database(kind, Path(tmp)) as url,
        SMTPSinkC() if email_sink == "smtp-sink" else SMTPSink() as smtp_sink,
        HTTPSink() as http_sink,
    ):
        workdir = Path(tmp)
        folders = write_campaigns(workdir / "campaigns", DAY)
        engine = make_engine(url)
        upgrade(engine)
        progress.stage(f"[{kind}] generating {customers:,} customers")
        loaded = data.generate(
            engine, customers, DAY, progress=lambda n: progress.update(n, customers)
        )
        progress.done(str(loaded.counts))
        rss_after_load = peak_rss_mib()
        counter = StatementCounter(engine)

        def settings_for(folder: Path, processes: int = workers) -> Any:
            return bench_settings(folder, url, smtp_sink.url, http_sink.url, concurrency, processes)

        renderer = Renderer(REPO / "templates", "en")
        broadcast_settings = settings_for(folders["broadcast"])
        processes = worker_count(broadcast_settings)

        progress.stage(f"[{kind}] ceiling: raw fetch")
        fetch = ceilings.raw_fetch(
            engine,
            candidate_clause(
                require_campaigns(broadcast_settings), DAY, broadcast_now, broadcast_settings
            ),
        )
        progress.done()

        # Stage timings come from a one-process pass, like the ceilings they are set
        # against: with several processes each stage shares the machine (and SQLite's
        # write lock) with the others. The pass's rows are then removed and the
        # broadcast runs again with every process, for the end-to-end figures.
        stages = Stages(pair_renders=True)
        stages.progress = lambda n: progress.update(n, customers)
        progress.stage(f"[{kind}] broadcast, one process (stage timings)")
        one_process = run_scenario(
            "broadcast",
            engine,
            settings_for(folders["broadcast"], 1),
            renderer,
            counter,
            DAY,
            broadcast_now,
            stages,
        )
        progress.done(f"planned {one_process.planned:,}, inserted {one_process.inserted:,}")
        samples = stages.samples
        broadcast = one_process
        undecided = None
        decision_runs: dict[str, list[float]] = {}
        if processes > 1:
            # The broadcast with every process, with and without storing its decisions
            # (issue 18: storing them may cost at most 10 % of the broadcast), each from
            # the same start, in the order with, without, without, with: a machine
            # getting busier or quieter during the four weighs on both alike, and the
            # report sets the fastest of each against the other.
            runs: dict[str, list[PlanResult]] = {"with": [], "without": []}
            for label in ("with", "without", "without", "with"):
                forget_campaign(engine, BROADCAST_ID)
                progress.stage(f"[{kind}] broadcast, {processes} processes, {label} decisions")
                chosen = runs[label]
                chosen.append(
                    run_scenario(
                        "broadcast",
                        engine,
                        broadcast_settings
                        if label == "with"
                        else without_decisions(broadcast_settings),
                        renderer,
                        counter,
                        DAY,
                        broadcast_now,
                        timed_stages=False,
                    )
                )
                progress.done(f"planned {chosen[-1].planned:,} in {chosen[-1].seconds:.1f} s")
            broadcast, undecided = runs["with"][0], runs["without"][0]
            broadcast.stages = one_process.stages
            broadcast.render_pairs = one_process.render_pairs
            decision_runs = {label: [r.seconds for r in done] for label, done in runs.items()}

        progress.stage(f"[{kind}] ceiling: raw Jinja, MIME, bulk insert")
        render_ceiling = ceilings.raw_render(renderer, samples.contexts)
        sender = "Rapport <hello@example.com>"
        emails = []
        sms_payloads = []
        for (_kind, locale, rendered), (_, _, _, context) in zip(
            samples.rendered, samples.contexts, strict=True
        ):
            address = f"{context['customer']['id']}@example.com"
            key = f"bench:{len(emails) + len(sms_payloads)}"
            if rendered.subject is not None:
                emails.append(
                    (
                        sender,
                        address,
                        rendered.subject,
                        message_id_for(key),
                        rendered.text,
                        rendered.html,
                    )
                )
            else:
                sms_payloads.append(
                    {
                        "to": "+15550100",
                        "text": rendered.text,
                        "idempotency_key": key,
                        "locale": locale,
                    }
                )
        mime = ceilings.raw_mime(emails)
        built = mime.pop("bytes")
        insert = ceilings.raw_insert(engine, samples.rows)
        progress.done()

        delivery: dict[str, Any] = {}
        lanes = build_channels(settings_for(folders["broadcast"]))
        connections = {name: lane.concurrency for name, lane in lanes.items()}
        if email_sink == "smtp-sink":  # the command runs with an smtp:// URL's defaults
            connections["email"] = SMTPChannel.concurrency
        for channel, sink in (("email", smtp_sink), ("sms", http_sink)):
            progress.stage(f"[{kind}] delivering up to {deliver_limit:,} {channel}")
            if channel == "email" and email_sink == "smtp-sink":
                result = deliver_by_command(engine, url, workdir, deliver_limit, sink)
            else:
                result = deliver(
                    engine,
                    settings_for(folders["broadcast"]),
                    channel,
                    deliver_limit,
                    broadcast_now,
                    sink,
                    counter,
                )
            delivery[channel] = asdict(result)
            progress.done(f"{result.sink_count:,} into the sink")

        progress.stage(f"[{kind}] ceiling: raw SMTP and HTTP loops")
        smtp_count = max(delivery["email"]["sink_count"], 1)
        smtp_work = (
            [(envelope_address(e[1]), built[i % len(built)]) for i, e in enumerate(emails)]
            if built
            else []
        )
        while smtp_work and len(smtp_work) < smtp_count:
            smtp_work += smtp_work[: smtp_count - len(smtp_work)]
        smtp_ceiling = ceilings.raw_smtp(
            smtp_sink.port, "hello@example.com", smtp_work[:smtp_count], connections["email"]
        )
        sources = {}
        if isinstance(smtp_sink, SMTPSinkC):
            size = sum(map(len, built)) // max(len(built), 1)
            for reuse in (False, True):
                sources["reuse" if reuse else "connect"] = postfix.smtp_source(
                    smtp_sink.postfix,
                    smtp_sink.port,
                    smtp_count,
                    connections["email"],
                    size,
                    reuse=reuse,
                )
        http_count = max(delivery["sms"]["sink_count"], 1)
        http_work = list(sms_payloads) or [
            {"to": "+15550100", "text": "x", "idempotency_key": "k", "locale": "en"}
        ]
        while len(http_work) < http_count:
            http_work += http_work[: http_count - len(http_work)]
        http_ceiling = ceilings.raw_http(http_sink.url, http_work[:http_count], connections["sms"])
        wire_ceiling = ceilings.raw_http_wire(
            http_sink.url, http_work[:http_count], connections["sms"]
        )
        progress.done()

        progress.stage(f"[{kind}] trickle tick")
        trickle = run_scenario(
            "trickle",
            engine,
            settings_for(folders["trickle"]),
            renderer,
            counter,
            trickle_day,
            trickle_now,
            timed_stages=False,
        )
        progress.done(f"planned {trickle.planned:,}")
        progress.stage(f"[{kind}] repeat tick")
        repeat = run_scenario(
            "repeat",
            engine,
            settings_for(folders["trickle"]),
            renderer,
            counter,
            trickle_day,
            trickle_now,
            timed_stages=False,
        )
        progress.done(f"inserted {repeat.inserted:,}")
        engine.dispose()

    return {
        "db": kind,
        "customers": customers,
        "started": started_at,
        "data": loaded.counts,
        "concurrency": connections,
        "email_sink": email_sink,
        "load_average": os.getloadavg(),
        "planning_workers": processes,
        "deliver_limit": deliver_limit,
        "rss_after_load_mib": rss_after_load,
        "peak_rss_mib": peak_rss_mib(),
        "decision_runs": decision_runs,
        "scenarios": {
            "broadcast": asdict(broadcast),
            "broadcast_one_process": {
                key: value for key, value in asdict(one_process).items() if key != "stages"
            },
            "broadcast_without_decisions": asdict(undecided) if undecided else None,
            "trickle": asdict(trickle),
            "repeat": asdict(repeat),
        },
        "delivery": delivery,
        "ceilings": {
            "fetch": fetch,
            "render": render_ceiling,
            "mime": mime,
            "insert": insert,
            "smtp": smtp_ceiling,
            "smtp_source": sources,
            "http": http_ceiling,
            "http_wire": wire_ceiling,
        },
    }


def save(result: dict[str, Any], out: Path) -> Path:
    """Write ``<timestamp>-<db>-<n>.json``; add the 1M / 100k ratio when both exist."""
    out.mkdir(parents=True, exist_ok=True)
    others = report.latest_results(out)
    if result["customers"] >= 1_000_000:
        base = others.get((result["db"], 100_000))
        if base:
            result["ratio_vs_100k"] = {
                "time": result["scenarios"]["broadcast"]["seconds"]
                / base["scenarios"]["broadcast"]["seconds"],
                "rss": result["peak_rss_mib"] / base["peak_rss_mib"],
            }
    stamp = result["started"].replace(":", "").replace("-", "")
    path = out / f"{stamp}-{result['db']}-{result['customers']}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    return path
