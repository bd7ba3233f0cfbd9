"""The long-running daemon: APScheduler 3 drives every recurring job of one process.

Jobs: the planning tick (every ``daemon.plan_seconds``; only the daemon holding the
planning lock plans, see engine/runtime/leader.py), the dispatch pass (every
``daemon.dispatch_seconds``; every daemon dispatches, and the outbox's claims keep
them apart), campaign file reloading, and a nightly rebuild of the co-purchase index
behind recommendations. Each job runs at most one instance at a time and missed runs
coalesce, so a slow tick never piles up behind itself.

SIGTERM or SIGINT stops it gracefully: nothing new is claimed, in-flight sends may
finish within ``daemon.grace_seconds``, and claimed messages not yet handed to a
provider are released back to the queue. The exit status is 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from rapport.engine.campaigns.store import CampaignStore
from rapport.engine.core.config import Settings
from rapport.engine.core.timeutil import Clock, utcnow
from rapport.engine.customers.recommend import CoPurchase, load_co_purchase
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.delivery.outcomes import DispatchReport
from rapport.engine.planning.plan import run_plan
from rapport.engine.planning.run import PlanReport
from rapport.engine.runtime import metrics, services
from rapport.engine.runtime.leader import PlanningLock, planning_lock

log = logging.getLogger(__name__)


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
        self.plan = plan
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.lock = lock or planning_lock(engine)
        self.on_plan = on_plan
        self.on_dispatch = on_dispatch
        self.campaigns = CampaignStore(settings, on_problems=on_problems)
        self.signer = services.signer(settings)
        self.renderer = services.renderer(settings)
        self.dispatcher = Dispatcher(
            engine, settings, services.lanes(settings), self.signer, clock=clock
        )
        self.loop = asyncio.new_event_loop()
        self.co_purchase: CoPurchase | None = None
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.stopped = threading.Event()

    # -- jobs ---------------------------------------------------------------------------
    def plan_tick(self) -> list[PlanReport]:
        """Plan the dates in play, if this daemon holds the planning lock."""
        if not self.lock.try_acquire():
            log.debug("another daemon plans; skipping this tick")
            return []
        campaigns = self.campaigns.current()
        if self.co_purchase is None:
            self.refresh_indexes()
        reports = []
        now = self.clock()
        for day in days_in_play(now):
            started = time.monotonic()
            report = run_plan(
                self.engine,
                self.settings,
                campaigns,
                day,
                now,
                renderer=self.renderer,
                signer=self.signer,
                co_purchase=self.co_purchase,
            )
            metrics.record_plan(report, time.monotonic() - started)
            log.info(
                "planned %s: %d new, %d already planned, %d render errors",
                day.isoformat(),
                report.inserted,
                report.already_planned,
                len(report.render_errors),
            )
            if self.on_plan is not None:
                self.on_plan(report)
            reports.append(report)
        metrics.tick_done("plan")
        return reports

    def dispatch_tick(self) -> DispatchReport:
        report = self.loop.run_until_complete(self.dispatcher.run_once())
        metrics.record_dispatch(report)
        metrics.tick_done("dispatch")
        if report.outcomes or report.released:
            log.info("dispatched: %s", dict(report.outcomes))
        if self.on_dispatch is not None:
            self.on_dispatch(report)
        return report

    def refresh_indexes(self) -> None:
        """Nightly: who buys what together, behind the recommendations in messages."""
        with self.engine.connect() as connection:
            self.co_purchase = load_co_purchase(connection)
        metrics.tick_done("indexes")

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
        self.scheduler.add_job(
            self._guard(self.plan_tick),
            "interval",
            seconds=daemon.plan_seconds,
            id="plan",
            next_run_time=now,
            **common,
        )
        self.scheduler.add_job(
            self._guard(self.dispatch_tick),
            "interval",
            seconds=daemon.dispatch_seconds,
            id="dispatch",
            next_run_time=now,
            **common,
        )
        self.scheduler.add_job(
            self._guard(self.reload_campaigns), "interval", seconds=30, id="campaigns", **common
        )
        self.scheduler.add_job(
            self._guard(self.refresh_indexes), "cron", hour=3, minute=7, id="indexes", **common
        )
        self.scheduler.start()
        log.info("daemon started")

    def running(self) -> bool:
        return bool(self.scheduler.running) and not self.stopped.is_set()

    def stop(self, grace: float | None = None) -> None:
        """Stop claiming, let in-flight sends finish within the grace period, release."""
        if self.stopped.is_set():
            return
        self.stopped.set()
        self.dispatcher.stop()
        grace = self.settings.daemon.grace_seconds if grace is None else grace
        # `rapport run --once` ticks by hand and never starts the scheduler; shutting
        # down one that is not running raises in the finisher thread.
        finisher = threading.Thread(target=self._shutdown_scheduler)
        finisher.start()
        finisher.join(timeout=grace)
        if finisher.is_alive():
            log.warning("jobs still running after %ss; leases will hand them over", grace)
        else:
            self.loop.run_until_complete(self.dispatcher.aclose())
            self.loop.close()
        self.lock.release()
        log.info("daemon stopped")

    def _shutdown_scheduler(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def run_forever(self) -> None:
        """Start, then block until SIGTERM or SIGINT, then stop gracefully."""
        wake = threading.Event()

        def on_signal(signum: int, _frame: Any) -> None:
            log.info("signal %s received: stopping", signum)
            wake.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        while not wake.wait(0.5):
            pass
        self.stop()

    def _guard(self, job: Callable[[], Any]) -> Callable[[], None]:
        """A job that fails is logged and retried next tick, never kills the daemon."""

        def run() -> None:
            if self.stopped.is_set():
                return
            try:
                job()
            except Exception:
                log.exception("job %s failed; it will run again next tick", job.__name__)

        run.__name__ = job.__name__
        return run
