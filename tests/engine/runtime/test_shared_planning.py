"""Three `rapport run` daemons on one PostgreSQL database plan one day together.

Every daemon claims the day's shards with a lease (engine/planning/shard_leases.py).
To make "mid-shard" exact without a hook in the product, the test holds an
uncommitted outbox row for one customer in the middle of shard 0: the daemon that
claims shard 0 writes its first two batches, then waits on that row's key inside the
third batch's INSERT, and the test sees it waiting in ``pg_stat_activity``. Rolling
the row back lets the daemon go on; killing the daemon first leaves its shard to
another once its lease expires.

3,000 customers born tomorrow in UTC-12 agree to birthday e-mail: every one of them
must end up with exactly one birthday e-mail in the outbox.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from factories import REPO, seed_birthdays
from sqlalchemy import Connection, func, insert, select, text

from rapport.engine.core.db import make_engine
from rapport.engine.core.models import OUTBOX, PLAN_SHARD, MessageStatus
from rapport.engine.delivery.outbox import outbox_row

RAPPORT = str(Path(sys.executable).parent / "rapport")
CUSTOMERS = 3000
SHARDS = 6  # of 500
#: The customer whose message the test holds: the third batch (of 100) of shard 0.
HELD = "C0250"


class Cluster:
    """The database, the day, the held row and the daemons of one test."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        self.url = url
        self.tmp_path = tmp_path
        self.engine = make_engine(url)
        self.day = datetime.now(UTC).date() + timedelta(days=1)
        self.processes: list[subprocess.Popen[bytes]] = []
        self.blocker: Connection | None = None
        seed_birthdays(self.engine, CUSTOMERS, self.day)
        campaigns = tmp_path / "campaigns"
        campaigns.mkdir()
        (campaigns / "birthday.yaml").write_bytes((REPO / "campaigns/birthday.yaml").read_bytes())

    def hold(self) -> None:
        """Insert, without committing, the held customer's birthday e-mail."""
        self.blocker = self.engine.connect()
        self.blocker.begin()
        now = datetime.now(UTC)
        self.blocker.execute(
            insert(OUTBOX).values(
                outbox_row(
                    customer_id=HELD,
                    campaign="birthday",
                    occasion=f"birthday:{self.day.year}",
                    channel="email",
                    topic="birthday",
                    locale="en",
                    status=MessageStatus.QUEUED,
                    send_at=now,
                    created_at=now,
                )
            )
        )

    def let_go(self) -> None:
        assert self.blocker is not None
        self.blocker.rollback()
        self.blocker.close()
        self.blocker = None

    def start(self, plan_seconds: float, lease_seconds: float) -> None:
        config = self.tmp_path / "config.yaml"
        config.write_text(
            f"database: {{url: '{self.url}'}}\n"
            f"campaigns_dir: {self.tmp_path / 'campaigns'}\n"
            f"templates_dir: {REPO / 'templates'}\n"
            "channels:\n"
            f"  email: {{adapter: file, kind: email, path: {self.tmp_path / 'out'}}}\n"
            f"  sms: {{adapter: file, kind: sms, path: {self.tmp_path / 'out'}}}\n"
            f"daemon: {{plan_seconds: {plan_seconds}, dispatch_seconds: 5, grace_seconds: 2}}\n"
            "planning: {shard_size: 500, batch_size: 100, workers: 1, "
            f"shard_lease_seconds: {lease_seconds}}}\n",
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
        env.update(RAPPORT_SECRET_KEY="shared", RAPPORT_LOG_LEVEL="INFO")
        for n in range(3):
            log = (self.tmp_path / f"daemon{n}.log").open("w")
            self.processes.append(
                subprocess.Popen(
                    [RAPPORT, "--config", str(config), "run"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )

    def waiting_on_the_held_row(self) -> bool:
        with self.engine.connect() as connection:
            return bool(
                connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND wait_event = 'transactionid'"
                    )
                ).scalar_one()
            )

    def shards(self) -> list[tuple[int, str, str | None, int]]:
        """(index, status, owner, attempts) of the day's shards."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(PLAN_SHARD.c.shard, PLAN_SHARD.c.status, PLAN_SHARD.c.owner)
                .add_columns(PLAN_SHARD.c.attempts)
                .where(PLAN_SHARD.c.day == self.day)
                .order_by(PLAN_SHARD.c.shard)
            )
            return [tuple(row) for row in rows]  # type: ignore[misc]

    def messages(self, up_to: str = "C9999") -> tuple[int, int]:
        """(outbox rows, distinct customers among them) up to customer ``up_to``."""
        with self.engine.connect() as connection:
            return tuple(  # type: ignore[return-value]
                connection.execute(
                    select(func.count(), func.count(OUTBOX.c.customer_id.distinct())).where(
                        OUTBOX.c.campaign == "birthday", OUTBOX.c.customer_id <= up_to
                    )
                ).one()
            )

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.tmp_path.glob("*.log")))

    def close(self) -> None:
        if self.blocker is not None:
            self.let_go()
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.engine.dispose()


@pytest.fixture
def cluster(migrated_postgres_url: str, tmp_path: Path) -> Iterator[Cluster]:
    made = Cluster(migrated_postgres_url, tmp_path)
    try:
        yield made
    finally:
        made.close()


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_three_daemons_plan_one_day_together_each_message_once(cluster: Cluster) -> None:
    cluster.hold()
    cluster.start(plan_seconds=3600, lease_seconds=60)  # one tick each
    assert wait_until(cluster.waiting_on_the_held_row, 60), cluster.logs()
    # Shard 0's daemon waits: the other shards can only be planned by the others.
    assert wait_until(
        lambda: [status for _, status, *_ in cluster.shards()] == ["running"] + ["done"] * 5, 60
    ), (cluster.shards(), cluster.logs())
    cluster.let_go()
    assert wait_until(
        lambda: [status for _, status, *_ in cluster.shards()] == ["done"] * SHARDS, 60
    ), cluster.logs()
    assert cluster.messages() == (CUSTOMERS, CUSTOMERS)
    owners = {owner for *_, owner, _ in cluster.shards()}
    assert len(owners) >= 2
    assert all(process.poll() is None for process in cluster.processes)


def test_a_daemon_killed_mid_shard_has_its_shard_planned_by_another_after_its_lease(
    cluster: Cluster,
) -> None:
    cluster.hold()
    cluster.start(plan_seconds=4, lease_seconds=2)
    assert wait_until(cluster.waiting_on_the_held_row, 60), cluster.logs()
    _, status, owner, attempts = cluster.shards()[0]
    assert status == "running" and owner is not None
    killed = int(owner.rsplit(":", 1)[1])
    assert killed in [process.pid for process in cluster.processes]
    assert cluster.messages(up_to="C0499") == (200, 200)  # two of its five batches
    os.kill(killed, signal.SIGKILL)
    cluster.let_go()  # its INSERT goes on in a server process whose client is gone
    assert wait_until(lambda: cluster.shards()[0][1:2] == ("done",), 60), cluster.logs()
    _, _, new_owner, new_attempts = cluster.shards()[0]
    assert new_owner != owner and new_attempts > attempts
    assert wait_until(lambda: cluster.messages() == (CUSTOMERS, CUSTOMERS), 30), (
        cluster.messages(),
        cluster.logs(),
    )
    by_pid = {process.pid: process for process in cluster.processes}
    assert by_pid[killed].wait(5) == -signal.SIGKILL
