"""SIGTERM on a real daemon process: what it finishes, what it cuts off, how it exits.

A provider on loopback answers each SMS after a delay the test chooses (or holds it
until the test ends), so a send is in flight when the signal arrives. The daemon must
let it finish within ``daemon.grace_seconds`` and exit 0, or cut it off at the end of
the grace period, release its claim, name it, and exit 75 within grace + 2 s (by its
own log's clock; the wall clock only shows it did not wait for the send). A
planning tick that outlives the grace period must not keep the process alive, and
``rapport dispatch`` must never plan.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from factories import CHINESE, REPO, insert_customer, run_rapport, seed_due_messages
from sqlalchemy import func, select

from rapport.consent.store import ConsentChange, record_consent
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import OUTBOX

RAPPORT = str(Path(sys.executable).parent / "rapport")
EXIT_ABANDONED = 75


class SlowProvider:
    """An HTTP SMS provider that answers each request ``delay`` seconds after it came
    (holding it until ``close`` at the latest)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.arrived = threading.Event()
        self.closing = threading.Event()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                provider.arrived.set()
                provider.closing.wait(provider.delay)
                payload = b'{"id": "accepted"}'
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the daemon gave up on this send
                    pass

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/sms"

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_provider() -> Iterator[SlowProvider]:
    provider = SlowProvider(delay=1.0)
    try:
        yield provider
    finally:
        provider.close()


def write_config(directory: Path, url: str, sms_url: str, grace: float, smtp_port: int) -> Path:
    config = directory / "config.yaml"
    config.write_text(
        f"database: {{url: '{url}'}}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\n"
        f"templates_dir: {REPO / 'templates'}\n"
        f"daemon: {{plan_seconds: 600, dispatch_seconds: 0.2, grace_seconds: {grace}}}\n"
        "channels:\n"
        f"  email: {{adapter: smtp, kind: email, url: 'smtp://127.0.0.1:{smtp_port}'}}\n"
        f"  sms: {{adapter: http_sms, kind: sms, url: '{sms_url}'}}\n",
        encoding="utf-8",
    )
    return config


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(RAPPORT_SECRET_KEY="shutdown", RAPPORT_LOG_LEVEL="INFO")
    return env


def start(*args: str, cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args, cwd=cwd, env=environment(), stdout=subprocess.DEVNULL, stderr=log.open("wb")
    )


def messages(log: Path) -> list[str]:
    return [
        json.loads(line)["message"]
        for line in log.read_text(encoding="utf-8").splitlines()
        if line.startswith("{")
    ]


def logged_stop_seconds(log: Path) -> float:
    """Seconds between the daemon's "signal ... received: stopping" line and its last
    line, by its own clock: the grace-bound promise (grace + 2 s) as the process kept it,
    without the interpreter's exit, which a loaded machine can stretch."""
    stamps = [
        (record["message"], datetime.fromisoformat(record["ts"]))
        for line in log.read_text(encoding="utf-8").splitlines()
        if line.startswith("{") and (record := json.loads(line))
    ]
    signalled = next(ts for message, ts in stamps if "received: stopping" in message)
    return (stamps[-1][1] - signalled).total_seconds()


def rows(url: str) -> dict[str, tuple[int, str, object]]:
    """channel -> (id, status, claimed_by) of the seeded messages (one per channel)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                select(OUTBOX.c.channel, OUTBOX.c.id, OUTBOX.c.status, OUTBOX.c.claimed_by)
            )
            return {row.channel: (row.id, row.status, row.claimed_by) for row in found}
    finally:
        engine.dispose()


#: A process that stops at the end of its grace (1 s here) rather than waiting for the
#: send it cut off (the slow provider holds it 60 s; the stuck planner, forever) exits
#: well within this, even on a loaded machine, where a CI run saw a grace-bound stop take
#: 3.5 s; one that waited for the send takes 60.
CUT_OFF_WITHIN = 20


def stop_and_time(process: subprocess.Popen[bytes], wait: float) -> tuple[int, float]:
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    return code, time.monotonic() - signalled


def dispatching(
    config: Path, directory: Path, log: Path, provider: SlowProvider
) -> subprocess.Popen[bytes]:
    """``rapport dispatch`` running, one of its SMS in the provider's hands."""
    daemon = start(
        RAPPORT, "--config", str(config), "dispatch", "--interval", "0.2", cwd=directory, log=log
    )
    try:
        assert provider.arrived.wait(30), messages(log)
    except BaseException:
        daemon.kill()
        raise
    return daemon


def test_sigterm_lets_a_send_finish_within_grace_records_it_and_exits_0(
    migrated_url: str, tmp_path: Path, slow_provider: SlowProvider, smtp_sink
) -> None:
    _, port = smtp_sink
    seed_due_messages(migrated_url, 2, 1, CHINESE, "shutdown")  # one e-mail, one SMS
    config = write_config(tmp_path, migrated_url, slow_provider.url, 5, port)
    log = tmp_path / "daemon.log"
    daemon = dispatching(config, tmp_path, log, slow_provider)
    code, took = stop_and_time(daemon, 15)
    assert code == 0, messages(log)
    assert took < 5, took  # the send ended after about a second; nobody waited for grace
    assert {channel: status for channel, (_, status, _) in rows(migrated_url).items()} == {
        "email": "sent",
        "sms": "sent",
    }
    said = messages(log)
    assert said[-1] == "daemon stopped", said


def test_a_send_outlasting_grace_is_cut_off_released_named_and_exits_75(
    migrated_url: str, tmp_path: Path, slow_provider: SlowProvider, smtp_sink
) -> None:
    _, port = smtp_sink
    slow_provider.delay = 60
    seed_due_messages(migrated_url, 2, 1, CHINESE, "shutdown")
    grace = 1.0
    config = write_config(tmp_path, migrated_url, slow_provider.url, grace, port)
    log = tmp_path / "daemon.log"
    daemon = dispatching(config, tmp_path, log, slow_provider)
    code, took = stop_and_time(daemon, 2 * CUT_OFF_WITHIN)
    said = messages(log)
    assert code == EXIT_ABANDONED, said
    assert took < CUT_OFF_WITHIN, took
    assert logged_stop_seconds(log) < grace + 2
    found = rows(migrated_url)
    sms_id, sms_status, claimed_by = found["sms"]
    assert (sms_status, claimed_by) == ("queued", None)  # released, not left to its lease
    assert found["email"][1] == "sent"
    cut_off = [
        entry
        for line in log.read_text(encoding="utf-8").splitlines()
        if line.startswith("{") and "may have accepted" in (entry := json.loads(line))["message"]
    ]
    assert any(sms_id in entry.get("message_ids", []) for entry in cut_off), said  # a field
    assert "daemon stopped" in said
    assert "cannot schedule new futures" not in log.read_text(encoding="utf-8")


def test_a_planning_tick_past_grace_is_abandoned_and_the_process_still_ends(
    migrated_url: str, tmp_path: Path, slow_provider: SlowProvider, smtp_sink
) -> None:
    """Planning stuck in a non-daemon thread (here: a day planner that never returns)."""
    _, port = smtp_sink
    grace = 0.5
    config = write_config(tmp_path, migrated_url, slow_provider.url, grace, port)
    started = tmp_path / "planning-started"
    stuck_planner = (
        "import sys, threading, pathlib\n"
        "from rapport.engine.runtime import daemon\n"
        "def day_planner(*args, **kwargs):\n"
        "    def stuck(*args, **kwargs):\n"
        f"        pathlib.Path({str(started)!r}).touch()\n"
        "        threading.Event().wait()\n"
        "    return stuck\n"
        "daemon.day_planner = day_planner\n"
        "from rapport.engine.cli.main import main\n"
        "sys.argv = ['rapport', *sys.argv[1:]]\n"
        "main()\n"
    )
    log = tmp_path / "daemon.log"
    daemon = start(
        sys.executable, "-c", stuck_planner, "--config", str(config), "run", cwd=tmp_path, log=log
    )
    try:
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), messages(log)
    except BaseException:
        daemon.kill()
        raise
    code, took = stop_and_time(daemon, 2 * CUT_OFF_WITHIN)
    said = messages(log)
    assert code == 0, said  # dispatching stopped cleanly; the plan rolls back
    assert took < CUT_OFF_WITHIN, took
    assert logged_stop_seconds(log) < grace + 2
    assert any("planning tick is still running" in m and "rolls back" in m for m in said), said
    assert "daemon stopped" not in said  # it was not, until the process ended under it
    assert any(m.startswith("daemon stopped, abandoning") for m in said), said


def test_rapport_dispatch_never_plans(migrated_url: str, tmp_path: Path, smtp_sink) -> None:
    _, port = smtp_sink
    engine = make_engine(migrated_url)
    # A birthday today where it is about midday now: the birthday campaign is due.
    offset = 12 - datetime.now(UTC).hour
    local_today = (datetime.now(UTC) + timedelta(hours=offset)).date()
    birthday = (
        date(1992, 2, 29)
        if (local_today.month, local_today.day) == (2, 29)
        else local_today.replace(year=1990)
    )
    now = datetime.now(UTC)
    try:
        with engine.begin() as connection:
            insert_customer(
                connection,
                "B1",
                email="b1@example.com",
                locale="en_US",
                timezone=f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}",
                country="US",
                birthday=birthday,
            )
            record_consent(
                connection,
                [ConsentChange("B1", "email", "birthday", "granted", "test", now)],
                recorded_at=now,
            )
    finally:
        engine.dispose()
    config = write_config(tmp_path, migrated_url, "http://127.0.0.1:9/sms", 1, port)
    log = tmp_path / "daemon.log"
    daemon = start(
        RAPPORT, "--config", str(config), "dispatch", "--interval", "0.2", cwd=tmp_path, log=log
    )
    try:
        deadline = time.monotonic() + 30
        while not any(m.startswith("daemon started") for m in messages(log)):
            assert time.monotonic() < deadline and daemon.poll() is None, messages(log)
            time.sleep(0.05)
        time.sleep(1.5)  # several dispatch ticks
    finally:
        code, _ = stop_and_time(daemon, 15)
    assert code == 0, messages(log)

    def planned() -> int:
        engine = make_engine(migrated_url)
        try:
            with engine.connect() as connection:
                return int(
                    connection.execute(select(func.count()).select_from(OUTBOX)).scalar_one()
                )
        finally:
            engine.dispose()

    assert planned() == 0
    assert not any(m.startswith("planned") or "now plans" in m for m in messages(log))
    if migrated_url.startswith("sqlite"):
        assert not Path(f"{migrated_url.removeprefix('sqlite:///')}.planning.lock").exists()
    # The same store, planned: the birthday was due all along.
    ran = run_rapport(
        "--config",
        str(config),
        "run",
        "--once",
        cwd=tmp_path,
        env={"RAPPORT_SECRET_KEY": "shutdown"},
    )
    assert ran.returncode == 0, ran.stderr
    assert planned() == 1


def test_dispatch_once_stops_on_sigterm_like_the_daemon_and_names_what_it_cut_off(
    migrated_url: str, tmp_path: Path, slow_provider: SlowProvider, smtp_sink
) -> None:
    _, port = smtp_sink
    slow_provider.delay = 60
    seed_due_messages(migrated_url, 2, 1, CHINESE, "shutdown")
    grace = 1.0
    config = write_config(tmp_path, migrated_url, slow_provider.url, grace, port)
    log = tmp_path / "dispatch.log"
    once = start(RAPPORT, "--config", str(config), "dispatch", "--once", cwd=tmp_path, log=log)
    try:
        assert slow_provider.arrived.wait(30), log.read_text(encoding="utf-8")
    except BaseException:
        once.kill()
        raise
    code, took = stop_and_time(once, 2 * CUT_OFF_WITHIN)
    said = log.read_text(encoding="utf-8")
    assert code == EXIT_ABANDONED, said
    assert took < CUT_OFF_WITHIN, took
    found = rows(migrated_url)
    sms_id, sms_status, claimed_by = found["sms"]
    assert (sms_status, claimed_by) == ("queued", None)
    assert f"may have accepted them; they will be sent again): messages {sms_id}" in said
    assert "Traceback" not in said
