"""The long-running daemon: APScheduler 3 drives planning and dispatch ticks.

Each job runs at most one instance at a time and missed runs are coalesced into one,
so a slow tick never piles up behind itself. Scale-out coordination between several
daemons belongs to the database (see engine/outbox.py), never to the scheduler.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger(__name__)


def run_daemon(
    plan_tick: Callable[[], None],
    dispatch_tick: Callable[[], None],
    *,
    plan_minutes: float = 15,
    dispatch_seconds: float = 10,
) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    common: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 60}
    scheduler.add_job(
        plan_tick, "interval", minutes=plan_minutes, id="plan", next_run_time=_now(), **common
    )
    scheduler.add_job(dispatch_tick, "interval", seconds=dispatch_seconds, id="dispatch", **common)

    def stop(signum: int, _frame: Any) -> None:
        log.info("signal %s received: stopping after running jobs finish", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
