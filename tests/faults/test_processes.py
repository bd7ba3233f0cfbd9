"""Which process does what (issue 14, point 7).

* ``rapport dispatch`` sends and never plans: while it runs it does not take the
  planning lock, and it inserts nothing into the outbox, on a database where
  ``rapport plan`` (run afterwards, as the control) does insert messages.
* ``rapport plan`` sharing a run with worker processes, killed with SIGKILL: none of
  its workers (nor multiprocessing's helper processes) outlives it.
"""

from __future__ import annotations

import fcntl
import signal
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from factories import run_rapport
from faults.conftest import Launch
from faults.procs import environment, outbox, seed, wait_for, write_config
from faults.provider import SMSProvider
from processes import alive, children, command_line
from sqlalchemy import text

from rapport.engine.core.db import make_engine
from rapport.engine.runtime.leader import PLANNING_LOCK_KEY

#: The day planned: tomorrow, whose send windows are all still open and which the
#: daemon's planning covers (the day after, should tomorrow be 29 February).
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).date()
if (TOMORROW.month, TOMORROW.day) == (2, 29):
    TOMORROW += timedelta(days=1)
#: Customers who joined a year before that day: the shipped anniversary campaign plans
#: each of them a message on it.
A_YEAR_BEFORE_TOMORROW = datetime.combine(
    TOMORROW.replace(year=TOMORROW.year - 1), time(12), tzinfo=UTC
)


def planning_lock_is_free(url: str) -> bool:
    """Whether nobody holds the planning lock (taken and given back at once if free)."""
    engine = make_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                got = connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": PLANNING_LOCK_KEY}
                ).scalar_one()
                if got:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": PLANNING_LOCK_KEY}
                    )
                return bool(got)
        with Path(f"{engine.url.database}.planning.lock").open("a+") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return False
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return True
    finally:
        engine.dispose()


def test_rapport_dispatch_sends_but_never_plans(
    fault_url: str, tmp_path: Path, sms_provider: SMSProvider, launch: Launch
) -> None:
    due = seed(fault_url, ["sms"], customers=20, joined=A_YEAR_BEFORE_TOMORROW)
    config = write_config(tmp_path, fault_url, sms_url=sms_provider.url, campaigns=True)
    dispatcher = launch("--config", str(config), "dispatch", "--interval", "0.2")
    assert sms_provider.wait_for(1, timeout=30), dispatcher.tail()  # it dispatched
    lock_free = planning_lock_is_free(fault_url)
    assert dispatcher.stop() == 0, dispatcher.tail()

    assert lock_free
    assert list(outbox(fault_url)) == [due[0].id]
    planned = run_rapport(
        "--config",
        str(config),
        "plan",
        "--date",
        TOMORROW.isoformat(),
        cwd=tmp_path,
        env={"RAPPORT_SECRET_KEY": "faults"},
    )
    assert planned.returncode == 0, planned.stderr
    assert len(outbox(fault_url)) > 1  # the control: there was something to plan


def test_a_sigkilled_sharded_plan_leaves_no_worker_process(
    sqlite_url: str, tmp_path: Path, launch: Launch
) -> None:
    """On SQLite only: the fault is the parent's death, which no database sees (the
    workers' database connections die with them on either)."""
    seed(sqlite_url, [], customers=30, joined=A_YEAR_BEFORE_TOMORROW)
    config = write_config(
        tmp_path,
        sqlite_url,
        campaigns=True,
        extra="planning: {workers: 3, min_customers_per_worker: 1, batch_size: 20}\n",
    )
    plan = launch(
        "--config",
        str(config),
        "plan",
        "--date",
        TOMORROW.isoformat(),
        console=True,
        env=environment(RAPPORT_LOG_LEVEL="WARNING"),
    )

    def sharing() -> bool:  # both worker processes have been started
        return sum("spawn_main" in command_line(pid) for pid in children(plan.pid)) == 2

    assert plan.until(sharing, timeout=30), plan.tail()
    descendants = children(plan.pid)  # the workers, and multiprocessing's tracker if any
    plan.signal(signal.SIGKILL)
    assert plan.wait(10) == -signal.SIGKILL

    gone = wait_for(lambda: not any(alive(pid) for pid in descendants), timeout=10)
    assert gone, [pid for pid in descendants if alive(pid)]
