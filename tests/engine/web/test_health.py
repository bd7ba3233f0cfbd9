"""/healthz and /readyz: ready means the database can be written, not only read.

The write lock is held by a real second holder: another process on SQLite (its
``BEGIN IMMEDIATE``), another connection's table lock on PostgreSQL. Either way
/readyz must say so within about two seconds, not after SQLite's 30 s busy timeout.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from factories import REPO
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from rapport.engine.core.config import Settings
from rapport.engine.web import health
from rapport.engine.web.app import create_app

SETTINGS = Settings(base_dir=REPO, secret_key="health")


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(SETTINGS, engine)) as client:
        yield client


@contextmanager
def write_lock_held_elsewhere(engine: Engine) -> Iterator[None]:
    """Every write waits: another process holds SQLite's write lock, or another
    connection holds PostgreSQL's lock on the table the probe writes."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as other:
            other.execute(text("LOCK TABLE alembic_version IN EXCLUSIVE MODE"))
            yield
            other.rollback()
        return
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "db.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
            str(engine.url.database),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()  # the holder reads EOF and exits, releasing its lock
        holder.wait(timeout=10)


def test_healthz_says_alive_and_nothing_more(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_is_ready_on_a_writable_current_database(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(3):
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {"ready": True, "checks": {"database": "ok", "migrations": "ok"}}
    assert [r.getMessage() for r in caplog.records if r.name.startswith("alembic")] == []


def test_readyz_is_503_within_two_seconds_while_writes_wait_for_a_lock(
    engine: Engine, client: TestClient
) -> None:
    with write_lock_held_elsewhere(engine):
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.json() == {
            "ready": False,
            "checks": {"database": "not writable: no write lock within 1 s"},
        }
        assert elapsed < 2.0
    assert client.get("/readyz").status_code == 200  # the lock is gone: ready again
    # The probe's connection went back to the pool with SQLite's own busy timeout.
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_readyz_is_503_on_a_read_only_postgresql_database(
    postgres_admin: Engine, migrated_postgres_url: str
) -> None:
    from rapport.engine.core.db import make_engine

    name = migrated_postgres_url.rsplit("/", 1)[1]
    with postgres_admin.connect() as admin:
        admin.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    engine = make_engine(migrated_postgres_url)
    try:
        with TestClient(create_app(SETTINGS, engine)) as client:
            response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"] == {"database": "not writable: ReadOnlySqlTransaction"}
    finally:
        engine.dispose()


def test_readyz_reports_failing_dispatch_ticks_and_a_stopped_scheduler(
    engine: Engine, client: TestClient
) -> None:
    problem: list[str | None] = [None]
    running = [True]
    client.app.state.dispatch_problem = lambda: problem[0]  # type: ignore[attr-defined]
    client.app.state.scheduler_running = lambda: running[0]  # type: ignore[attr-defined]
    assert client.get("/readyz").json()["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "scheduler": "ok",
        "dispatch": "ok",
    }
    problem[0] = "database writes failing for 12 s (OperationalError)"
    running[0] = False
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "scheduler": "stopped",
        "dispatch": "database writes failing for 12 s (OperationalError)",
    }


async def test_a_probe_stuck_in_the_driver_is_answered_for_and_not_repeated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    calls: list[float] = []

    def stuck(engine: object, wait: float) -> health.Probed:
        calls.append(wait)
        release.wait(10)
        return health.Probed("0008", None)

    monkeypatch.setattr(health, "probe_write", stuck)
    probe = health.WriteProbe(engine=None)  # type: ignore[arg-type]
    try:
        first = await probe.result(timeout=0.2)
        second = await probe.result(timeout=0.2)
        assert first == second == health.Probed(None, "no answer within 0.2 s")
        assert len(calls) == 1  # the second request waited for the same probe
    finally:
        release.set()
    for _ in range(50):
        if probe._running is not None and probe._running.done():
            break
        time.sleep(0.02)
    assert await probe.result() == health.Probed("0008", None)
    assert len(calls) == 2  # a finished probe is never reused: each request probes anew


def test_rapport_runs_readyz_checks_its_scheduler_and_dispatch_ticks(
    migrated_url: str, tmp_path: Path
) -> None:
    """The daemon's own web app answers for the daemon: scheduler and dispatch checks."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {{url: '{migrated_url}'}}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\n"
        f"templates_dir: {REPO / 'templates'}\n"
        f"web: {{enabled: true, port: {port}}}\n"
        "daemon: {plan_seconds: 600, dispatch_seconds: 0.2, grace_seconds: 1}\n"
        "channels:\n"
        "  email: {adapter: file, kind: email, path: outbox}\n"
        "  sms: {adapter: file, kind: sms, path: outbox}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env["RAPPORT_SECRET_KEY"] = "health"
    log_path = tmp_path / "daemon.log"
    with log_path.open("wb") as log_file:
        daemon = subprocess.Popen(
            [str(Path(sys.executable).parent / "rapport"), "--config", str(config), "run"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    try:
        # Ask only once this daemon says it started (its signal handlers are in place
        # by then) and that it listens on the port: another test's server could have
        # taken a port this one found free a moment before.
        deadline = time.monotonic() + 30
        said = ""
        while "daemon started" not in said and time.monotonic() < deadline:
            assert daemon.poll() is None, said
            time.sleep(0.1)
            said = log_path.read_text(encoding="utf-8", errors="replace")
        assert f"listens on http://127.0.0.1:{port}/" in said, said
        answer = None
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            except httpx.TransportError:
                answer = None
            if answer is not None and answer.status_code == 200:
                break
            time.sleep(0.1)
        assert answer is not None and answer.status_code == 200, answer
        assert answer.json()["checks"] == {
            "database": "ok",
            "migrations": "ok",
            "scheduler": "ok",
            "dispatch": "ok",
        }
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=15) == 0
