"""The long-running daemon: APScheduler 3 drives every recurring job of one process.

Jobs: the planning tick (every ``daemon.plan_seconds``; on PostgreSQL every daemon
plans the shards of each day it claims, engine/planning/shard_leases.py; on SQLite
only the daemon holding the planning lock plans, engine/runtime/leader.py),
dispatching (continuous: each channel looks for due messages again
``daemon.dispatch_seconds`` after it found none; every daemon dispatches, and the
outbox's claims keep them apart), campaign file reloading, and nightly (UTC) a
rebuild of the co-purchase index behind recommendations and retention
(engine/delivery/retention.py; by the lock holder). Each job runs at most one
instance at a time and missed runs coalesce, so a slow tick never piles up behind
itself.

A daemon built with ``plan=False`` (``rapport dispatch``) only dispatches. Campaign
files are checked as validation checks their offer keys before they are used.

A ``web.base_url`` that is not HTTPS is logged as a warning when a daemon is built,
and refused with ``production: true`` (:mod:`rapport.engine.core.baseurl`).

SIGTERM or SIGINT stops it (:meth:`Daemon.stop`): nothing new is claimed, claimed
messages not yet handed to a provider are released, sends in flight may finish
within ``daemon.grace_seconds``, and every outcome is written. The exit status is 0
when all of that happened. A send still running at the end of the grace period is
cut off, its claim released and its id logged (the provider may have accepted it, so
it may be sent twice); that, or an outcome left unwritten, makes the exit status
:data:`EXIT_ABANDONED` (75, EX_TEMPFAIL), at most ``grace + 2`` seconds after the
signal. A planning tick still running then is abandoned: its open transaction rolls
back and the next planner plans those days again (planning is idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import SchedulerNotRunningError
from sqlalchemy import Engine

from rapport.consent.sms_ids import prune_sms_ids
from rapport.engine.campaigns.store import CampaignStore
from rapport.engine.campaigns.validate import offer_problems
from rapport.engine.core.config import Settings
from rapport.engine.core.production import check_production
from rapport.engine.core.timeutil import Clock, utcnow
from rapport.engine.customers.events import prune_events
from rapport.engine.customers.recommend import CoPurchase, load_co_purchase
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.delivery.outcomes import DispatchReport
from rapport.engine.delivery.retention import PruneReport, prune_outbox
from rapport.engine.planning.decisions import prune_decisions
from rapport.engine.planning.run import PlanReport
from rapport.engine.planning.shared import day_planner
from rapport.engine.runtime import metrics, services
from rapport.engine.runtime.leader import PlanningLock, planning_lock
from rapport.engine.runtime.ticks import DispatchTicks

log = logging.getLogger(__name__)
#: The exit status of a daemon that stopped with work cut off: a send the provider may
#: have accepted, or an outcome it could not write (EX_TEMPFAIL: run it again).
EXIT_ABANDONED = 75
#: After the grace period, how long the dispatch pass may take to write its outcomes
#: (the dispatcher's own limit is 1.5 s), and to close its provider connections.
WRITE_SECONDS = 1.7
CLOSE_SECONDS = 0.2


class _QuietOverlaps(logging.Filter):
    """A dispatch pass longer than the dispatch interval is normal (a broadcast takes
    hours): APScheduler's warning for each tick it skips meanwhile is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


_QUIET_OVERLAPS = _QuietOverlaps()


@dataclass(frozen=True)
class Stopped:
    """How a stop ended: the process's exit status, and the jobs still running."""

    status: int
    #: Jobs that did not end in time (their threads keep running until the process ends).
    left: list[str] = field(default_factory=list)


def days_in_play(now: datetime) -> list[Any]:
    """Every calendar date that is "today" somewhere on Earth at ``now``.

    Local dates run from UTC-12 to UTC+14, so at any moment customers live on up to
    three dates. Closed windows are skipped by the planner and planned occasions add
    nothing, so planning all three every tick is safe and catches every time zone.
    """
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=1), today, today + timedelta(days=1)]


class Daemon:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        clock: Clock = utcnow,
        lock: PlanningLock | None = None,
        on_plan: Callable[[PlanReport], None] | None = None,
        on_dispatch: Callable[[DispatchReport], None] | None = None,
        on_problems: Callable[[list[Any]], None] | None = None,
        plan: bool = True,
    ) -> None:
        # A web.base_url not HTTPS, a short secret, the example sender: warned of;
        # production: true refuses (engine/core/production.py).
        check_production(settings)
        #: False: dispatch only (``rapport dispatch``): no planning tick, no planning lock.
        self.plan = plan
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.lock = lock or planning_lock(engine)
        self.on_plan = on_plan
        self.on_dispatch = on_dispatch
        self.signer = services.signer(settings)
        self.renderer = services.renderer(settings)
        self.campaigns = CampaignStore(
            settings,
            on_problems=on_problems,
            check=lambda campaign: offer_problems(campaign, settings, self.renderer),
        )
        self.dispatcher = Dispatcher(
            engine, settings, services.lanes(settings), self.signer, clock=clock
        )
        self.loop = asyncio.new_event_loop()
        self.co_purchase: CoPurchase | None = None
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.stopped = threading.Event()
        #: PostgreSQL: days are planned in leased shards by every daemon together.
        self.shared = engine.dialect.name == "postgresql"
        self.plan_day = day_planner(
            engine, settings, self.renderer, self.signer, clock, self.stopped
        )
        self.ticks = DispatchTicks()
        #: The report of the dispatch pass that ended after the stop began.
        self.final_dispatch: DispatchReport | None = None
        #: The error that ended that pass instead, if one did.
        self.final_error: str | None = None
        self._running: dict[str, threading.Thread] = {}
        self._stop_result: Stopped | None = None
        self._changed = threading.Condition()

    # -- jobs ---------------------------------------------------------------------------
    def plan_tick(self) -> list[PlanReport]:
        """Plan the dates in play: the shards due (PostgreSQL), or everything if this
        daemon holds the planning lock (SQLite).

        A stop is noticed between days, and between a shard's batches: the day (on
        SQLite) is finished (or, past the grace period, abandoned with its transaction),
        the shard is released, later days are not started.
        """
        if not self.plan or self.stopped.is_set():
            return []
        if not self.shared and not self.lock.try_acquire():
            log.debug("another daemon plans; skipping this tick")
            return []
        campaigns = self.campaigns.current()
        if self.co_purchase is None:
            self.refresh_indexes()
        reports = []
        now = self.clock()
        for day in days_in_play(now):
            if self.stopped.is_set():
                log.info("stopping: the planning tick ends early", extra={"day": day.isoformat()})
                break
            started = time.monotonic()
            report = self.plan_day(campaigns, day, now, self.co_purchase)
            metrics.record_plan(report, time.monotonic() - started)
            log.info(
                "planned %s: %d new, %d already planned, %d render errors",
                day.isoformat(),
                report.inserted,
                report.already_planned,
                len(report.render_errors),
                extra={
                    "day": day.isoformat(),
                    "inserted": report.inserted,
                    "already_planned": report.already_planned,
                    "render_errors": len(report.render_errors),
                },
            )
            if self.on_plan is not None:
                self.on_plan(report)
            reports.append(report)
        metrics.tick_done("plan")
        return reports

    def dispatch_tick(self) -> DispatchReport:
        """One dispatch pass (``rapport run --once``); how it ended is kept for ``/readyz``."""
        try:
            report = self.loop.run_until_complete(self.dispatcher.run_once())
        except Exception as exc:
            self._dispatch_failed(exc)
            raise
        self._dispatched(report, final=self.stopped.is_set())
        return report

    def dispatch_forever(self) -> DispatchReport:
        """The scheduled dispatch job: dispatch continuously until the stop.

        Each channel looks for due messages again ``daemon.dispatch_seconds`` after it
        found none, so a channel whose provider hangs never holds up another; every
        ``dispatch_seconds`` the period's figures go to the metrics, the log and
        ``/readyz``. Should the pass end with an error, the next tick starts it again.
        """
        try:
            report = self.loop.run_until_complete(
                self.dispatcher.serve(self.settings.daemon.dispatch_seconds, self._dispatched)
            )
        except Exception as exc:
            self._dispatch_failed(exc)
            raise
        self._dispatched(report, final=True)
        return report

    def _dispatch_failed(self, exc: Exception) -> None:
        self.ticks.failed(type(exc).__name__)
        if self.stopped.is_set():
            self.final_error = type(exc).__name__

    def _dispatched(self, report: DispatchReport, final: bool = False) -> None:
        if report.database_error:
            self.ticks.failed(f"database error ({report.database_error})")
        else:
            self.ticks.succeeded()
        if final and self.stopped.is_set():
            self.final_dispatch = report
        metrics.record_dispatch(report)
        metrics.tick_done("dispatch")
        if report.outcomes or report.released:
            outcomes = {
                f"{channel}/{status}": n for (channel, status), n in report.outcomes.items()
            }
            log.info("dispatched", extra={"outcomes": outcomes})
        if self.on_dispatch is not None:
            self.on_dispatch(report)

    def dispatch_problem(self) -> str | None:
        """Why dispatching is not healthy now (``/readyz``), or None."""
        return self.dispatcher.health.problem() or self.ticks.problem()

    def refresh_indexes(self) -> None:
        """Nightly: who buys what together, behind the recommendations in messages."""
        with self.engine.connect() as connection:
            self.co_purchase = load_co_purchase(connection)
        metrics.tick_done("indexes")

    def prune_tick(self) -> PruneReport | None:
        """Nightly, by the daemon that plans: ``retention.outbox_days`` applied to the
        outbox, ``retention.decision_days`` to the stored plan decisions,
        ``retention.event_days`` to posted events and 30 days to inbound SMS ids, at the
        daemon's clock (a stop ends each between batches)."""
        if not self.plan or self.stopped.is_set() or not self.lock.try_acquire():
            return None
        retention, now, stop = self.settings.retention, self.clock(), self.stopped.is_set
        age = timedelta(days=retention.outbox_days)
        report = prune_outbox(self.engine, older_than=age, now=now, stop=stop)
        prune_decisions(self.engine, days=retention.decision_days, today=now.date(), stop=stop)
        prune_events(self.engine, days=retention.event_days, now=now, stop=stop)
        prune_sms_ids(self.engine, now=now, stop=stop)
        metrics.tick_done("retention")
        return report

    def reload_campaigns(self) -> None:
        self.campaigns.current()
        metrics.tick_done("campaigns")

    # -- running ------------------------------------------------------------------------
    def start(self) -> None:
        daemon = self.settings.daemon
        common: dict[str, Any] = {
            "max_instances": 1,
            "coalesce": True,
            "misfire_grace_time": daemon.misfire_grace_seconds,
        }
        now = datetime.now(UTC)
        if self.plan:
            self.scheduler.add_job(
                self._guard(self.plan_tick, "plan"),
                "interval",
                seconds=daemon.plan_seconds,
                id="plan",
                next_run_time=now,
                **common,
            )
        self.scheduler.add_job(
            self._guard(self.dispatch_forever, "dispatch"),
            "interval",
            seconds=daemon.dispatch_seconds,
            id="dispatch",
            next_run_time=now,
            **common,
        )
        if self.plan:  # what only planning reads
            self.scheduler.add_job(
                self._guard(self.reload_campaigns, "campaigns"),
                "interval",
                seconds=30,
                id="campaigns",
                **common,
            )
            nightly = ((self.refresh_indexes, "indexes", 7), (self.prune_tick, "retention", 37))
            for job, name, minute in nightly:  # at 03:mm UTC
                self.scheduler.add_job(
                    self._guard(job, name), "cron", hour=3, minute=minute, id=name, **common
                )
        logging.getLogger("apscheduler.scheduler").addFilter(_QUIET_OVERLAPS)  # added once
        self.scheduler.start()
        log.info("daemon started" if self.plan else "daemon started (dispatch only)")

    def running(self) -> bool:
        return bool(self.scheduler.running) and not self.stopped.is_set()

    def stop(self, grace: float | None = None, *, since: float | None = None) -> Stopped:
        """Stop claiming, let sends in flight finish within ``grace`` seconds (counted
        from ``since``, a ``time.monotonic()`` reading, by default now), release what
        is claimed and unsent, write every outcome; wait for running jobs until
        ``grace`` + :data:`WRITE_SECONDS`. Jobs still running then are named in the
        result, and keep running: :meth:`run_forever` ends the process under them.
        """
        since = time.monotonic() if since is None else since
        grace = self.settings.daemon.grace_seconds if grace is None else grace
        if self._stop_result is not None:
            return Stopped(self._stop_result.status, self.running_jobs())
        self.stopped.set()
        # Nothing new starts; jobs already running go on in the scheduler's threads.
        # `rapport run --once` ticks by hand and never started the scheduler.
        if self.scheduler.running:
            with contextlib.suppress(SchedulerNotRunningError):
                self.scheduler.shutdown(wait=False)
        self.dispatcher.stop(max(0.0, since + grace - time.monotonic()))
        left = self._wait_for_jobs(since + grace + WRITE_SECONDS)
        status = 0
        if "dispatch" in left:
            status = EXIT_ABANDONED
            log.error(
                "the dispatch pass did not end %.1f s after the stop: the messages it "
                "holds stay claimed until their leases expire, and those in flight may "
                "have been accepted by the provider",
                grace + WRITE_SECONDS,
            )
        else:
            status = self._report_final_dispatch(grace)
            self._close_dispatcher()
        if "plan" in left:
            log.warning(
                "the planning tick is still running: its transaction is abandoned and "
                "rolls back; the next planner plans those days again"
            )
        for job in left:
            if job not in ("plan", "dispatch"):
                log.warning("job %s is still running: abandoned", job, extra={"job": job})
        if not left:
            self.lock.release()
            log.info("daemon stopped")
        self._stop_result = Stopped(status, left)
        return self._stop_result

    def _report_final_dispatch(self, grace: float) -> int:
        if self.final_error is not None:
            log.error(
                "the dispatch pass failed while stopping (%s): the messages it held stay "
                "claimed until their leases expire, and those in flight may have been "
                "accepted by the provider",
                self.final_error,
            )
            return EXIT_ABANDONED
        report = self.final_dispatch
        if report is None or (not report.abandoned and not report.unwritten):
            return 0
        if report.abandoned:
            log.error(
                "%d sends were still running at the end of the %s s grace period and "
                "were cut off, their claims released: the provider may have accepted "
                "those messages, which will be sent again",
                len(report.abandoned),
                f"{grace:g}",
                extra={"message_ids": sorted(report.abandoned)},
            )
        if report.unwritten:
            log.error(
                "the outcomes of %d messages could not be written; they stay claimed "
                "until their leases expire and are then sent again",
                len(report.unwritten),
                extra={"message_ids": sorted(report.unwritten)},
            )
        return EXIT_ABANDONED

    def _close_dispatcher(self) -> None:
        """Close the provider connections (briefly: a stop has a deadline) and the loop."""
        if self.loop.is_closed():
            return
        try:
            self.loop.run_until_complete(asyncio.wait_for(self.dispatcher.aclose(), CLOSE_SECONDS))
        except Exception as exc:  # closing connections is a courtesy, not a duty
            log.warning("closing provider connections failed: %s", type(exc).__name__)
        finally:
            self.loop.close()

    def running_jobs(self) -> list[str]:
        with self._changed:
            return sorted(name for name, thread in self._running.items() if thread.is_alive())

    def _wait_for_jobs(self, deadline: float) -> list[str]:
        with self._changed:
            while self._running and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
        return self.running_jobs()

    def run_forever(self) -> int:
        """Start, block until SIGTERM or SIGINT, stop; return the exit status.

        If a job is still running when the stop's deadline passes, the process ends
        here (``os._exit``, after flushing the logs): a thread stuck in a provider or
        the database driver must not keep it alive.
        """
        wake = threading.Event()
        signalled: list[float] = []

        def on_signal(signum: int, _frame: Any) -> None:
            if signalled:
                log.info("signal %s received: already stopping", signum)
                return
            signalled.append(time.monotonic())
            log.info("signal %s received: stopping", signum)
            wake.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        while not wake.wait(0.5):
            pass
        stopped = self.stop(since=signalled[0])
        # Any other thread that would keep the process alive (a name lookup in the
        # loop's executor, say) gets until just before grace + 2 s.
        deadline = signalled[0] + self.settings.daemon.grace_seconds + WRITE_SECONDS + 0.2
        blocking = [
            t for t in threading.enumerate() if not t.daemon and t is not threading.current_thread()
        ]
        for thread in blocking:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in blocking if t.is_alive()]
        if stopped.left or stuck:
            log.warning(
                "daemon stopped, abandoning what still runs: %s",
                ", ".join(stopped.left) or ", ".join(stuck),
            )
            exit_now(stopped.status)
        return stopped.status

    def _guard(self, job: Callable[[], Any], name: str) -> Callable[[], None]:
        """A job that fails is logged and retried next tick, never kills the daemon;
        a job started after the stop does nothing."""

        def run() -> None:
            with self._changed:
                if self.stopped.is_set():
                    return
                self._running[name] = threading.current_thread()
            try:
                job()
            except Exception:
                log.exception(
                    "job %s failed; it will run again next tick", name, extra={"job": name}
                )
            finally:
                with self._changed:
                    self._running.pop(name, None)
                    self._changed.notify_all()

        run.__name__ = job.__name__
        return run


def exit_now(status: int) -> NoReturn:
    """End the process at once, whatever threads still run, after flushing the logs."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed: nothing more to say
            stream.flush()
    os._exit(status)
