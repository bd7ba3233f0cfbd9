"""The daemon object itself: what `rapport run --once` and the scheduler share.

The daemon as a process (signals, exit codes, `rapport dispatch`) is in test_shutdown.py.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator

import pytest
from factories import REPO, make_settings, run_rapport
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from rapport.engine.delivery.outcomes import DispatchReport
from rapport.engine.runtime.daemon import Daemon, Stopped


@pytest.fixture
def thread_errors() -> Iterator[list[BaseException]]:
    """Exceptions raised in any thread while the test runs (none may be lost)."""
    seen: list[BaseException] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: seen.append(args.exc_value)  # type: ignore[arg-type]
    try:
        yield seen
    finally:
        threading.excepthook = previous


def test_a_daemon_ticked_by_hand_stops_without_an_error_in_any_thread(
    engine: Engine, tmp_path, thread_errors: list[BaseException]
) -> None:
    settings = make_settings(base_dir=tmp_path)
    daemon = Daemon(settings, engine, plan=False)
    daemon.dispatch_tick()
    assert daemon.stop(grace=5) == Stopped(0, [])
    assert thread_errors == []
    assert daemon.stopped.is_set()


class SpyLock:
    """A planning lock that counts the daemon's attempts and always grants them."""

    def __init__(self) -> None:
        self.attempts = 0

    def try_acquire(self) -> bool:
        self.attempts += 1
        return True

    def release(self) -> None:
        return None


def quick(tmp_path, **daemon: float):  # type: ignore[no-untyped-def]
    settings = make_settings(base_dir=tmp_path)
    return settings.model_copy(update={"daemon": settings.daemon.model_copy(update=daemon)})


def test_a_dispatch_only_daemon_schedules_no_planning_and_never_takes_the_lock(
    engine: Engine, tmp_path, thread_errors: list[BaseException]
) -> None:
    lock = SpyLock()
    daemon = Daemon(quick(tmp_path, dispatch_seconds=0.1), engine, plan=False, lock=lock)
    daemon.start()
    try:
        assert [job.id for job in daemon.scheduler.get_jobs()] == ["dispatch"]
        time.sleep(0.5)  # a few dispatch ticks
        assert daemon.plan_tick() == []
    finally:
        stopped = daemon.stop(grace=1)
    assert stopped == Stopped(0, [])
    assert lock.attempts == 0
    assert thread_errors == []


def test_a_stop_ends_the_planning_tick_between_days(engine: Engine, tmp_path) -> None:
    days: list[object] = []

    def planned(report: object) -> None:
        days.append(report)
        daemon.stopped.set()  # the stop arrives while the first day is planned

    daemon = Daemon(make_settings(base_dir=tmp_path), engine, lock=SpyLock(), on_plan=planned)
    try:
        assert len(daemon.plan_tick()) == 1 and len(days) == 1
        assert daemon.plan_tick() == []  # and no tick starts after it
    finally:
        daemon.stopped.clear()
        daemon.stop(grace=0)


def test_failing_dispatch_ticks_are_a_dispatch_problem_until_one_succeeds(
    engine: Engine, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = Daemon(make_settings(base_dir=tmp_path), engine, plan=False, lock=SpyLock())
    outcome: list[object] = [OperationalError("UPDATE outbox_message", {}, Exception("locked"))]

    async def run_once(max_batches: int | None = None) -> DispatchReport:
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        assert isinstance(outcome[0], DispatchReport)
        return outcome[0]

    monkeypatch.setattr(daemon.dispatcher, "run_once", run_once)
    try:
        assert daemon.dispatch_problem() is None
        for _ in range(2):
            with pytest.raises(OperationalError):
                daemon.dispatch_tick()
        assert daemon.dispatch_problem() == (
            "dispatch ticks failing for 0 s (2 in a row, last: OperationalError)"
        )
        outcome[0] = DispatchReport(database_error="OperationalError")
        daemon.dispatch_tick()
        assert daemon.dispatch_problem() == (
            "dispatch ticks failing for 0 s (3 in a row, last: database error (OperationalError))"
        )
        outcome[0] = DispatchReport()
        daemon.dispatch_tick()
        assert daemon.dispatch_problem() is None
    finally:
        daemon.stop(grace=0)


def test_rapport_run_once_stops_without_a_traceback(tmp_path, sqlite_template) -> None:
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    (tmp_path / "config.yaml").write_text(
        "database: {url: 'sqlite:///rapport.db'}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\n"
        f"templates_dir: {REPO / 'templates'}\n"
        "channels:\n"
        "  email: {adapter: file, kind: email, path: outbox}\n"
        "  sms: {adapter: file, kind: sms, path: outbox}\n",
        encoding="utf-8",
    )
    ran = run_rapport("run", "--once", cwd=tmp_path, env={"RAPPORT_SECRET_KEY": "once"})
    assert ran.returncode == 0, ran.stderr
    assert "Traceback" not in ran.stderr and "SchedulerNotRunning" not in ran.stderr
    assert "daemon stopped" in ran.stderr
