"""Rapport as the fault tests run it: real processes on a config file, and their outbox.

:func:`start` runs ``rapport ARGS`` as a process of its own, forked from
multiprocessing's fork server (which has imported Rapport once, so a start costs
milliseconds), with its output in a log file the test reads; :func:`start_console`
runs the installed console script itself, for the tests about how the process exits.
:func:`seed` queues due messages for customers who said yes to them, and
:func:`outbox` reads back what became of them.
"""

from __future__ import annotations

import faulthandler
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from annotated_types import Ge
from factories import REPO, daytime_zone
from sqlalchemy import insert, select

from rapport.consent.store import ConsentChange, record_consent
from rapport.engine.core.config import DispatchConfig
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import CUSTOMER, OUTBOX, MessageStatus
from rapport.engine.delivery.outbox import outbox_row


def _shortest_lease(wanted: int = 2) -> int:
    """``wanted`` seconds, or the shortest lease the configuration accepts if longer."""
    floors = [
        rule.ge
        for rule in DispatchConfig.model_fields["lease_seconds"].metadata
        if isinstance(rule, Ge) and isinstance(rule.ge, int)
    ]
    return max([wanted, *floors])


#: The lease the tests' dispatchers take (seconds): short, so that an overrun shows.
LEASE = _shortest_lease()
RAPPORT = Path(sys.executable).parent / "rapport"
#: What the fork server imports once (when this suite starts it), so that a forked
#: ``rapport dispatch`` or ``run`` starts without importing the daemon's modules.
PRELOAD = [
    "rapport.engine.cli.main",
    "factories",
    "rapport.engine.runtime.daemon",
    "rapport.engine.delivery.dispatch",
    "rapport.engine.web.app",
    "faults.procs",
]


def wait_for(condition: Callable[[], Any], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``condition`` until it is true; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# -- configuration --------------------------------------------------------------------
def write_config(
    directory: Path,
    url: str,
    *,
    sms_url: str | None = None,
    smtp_port: int | None = None,
    batch: int = 20,
    lease: float = LEASE,
    attempts: int = 5,
    sms: str = "",
    email: str = "",
    dispatch: str = "",
    daemon: str = "dispatch_seconds: 0.2, grace_seconds: 3",
    campaigns: bool = False,
    extra: str = "",
) -> Path:
    """A config file for ``url``: the SMS provider and SMTP server given (files for a
    channel without one), short leases and quick retries; the
    repository's campaigns if ``campaigns``, else an empty folder (nothing to plan)."""
    if campaigns:
        folders = f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n"
    else:
        (directory / "campaigns").mkdir(exist_ok=True)
        folders = f"campaigns_dir: {directory / 'campaigns'}\n"
    if smtp_port is not None:
        channels = [
            f"  email: {{adapter: smtp, kind: email, url: 'smtp://127.0.0.1:{smtp_port}'{email}}}"
        ]
    else:
        channels = [f"  email: {{adapter: file, kind: email, path: {directory / 'outbox'}}}"]
    if sms_url is not None:
        channels.append(f"  sms: {{adapter: http_sms, kind: sms, url: '{sms_url}'{sms}}}")
    else:
        channels.append(f"  sms: {{adapter: file, kind: sms, path: {directory / 'outbox'}}}")
    config = directory / "config.yaml"
    config.write_text(
        f"database: {{url: '{url}'}}\n"
        f"{folders}"
        "channels:\n" + "\n".join(channels) + "\n"
        f"dispatch: {{batch_size: {batch}, lease_seconds: {lease}, max_attempts: {attempts},\n"
        f"           backoff_base_seconds: 0.2, backoff_max_seconds: 0.5{dispatch}}}\n"
        f"daemon: {{{daemon}}}\n"
        f"{extra}",
        encoding="utf-8",
    )
    return config


def environment(**extra: str) -> dict[str, str]:
    """This environment without its ``RAPPORT_*`` variables, plus the tests' secret
    key, INFO logs and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    return {**env, "RAPPORT_SECRET_KEY": "faults", "RAPPORT_LOG_LEVEL": "INFO", **extra}


# -- processes ------------------------------------------------------------------------
def _rapport_in_child(args: list[str], env: dict[str, str], cwd: str, log: str) -> None:
    """The body of a forked ``rapport`` process: the console script's ``main()``."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    devnull = os.open(os.devnull, os.O_RDONLY)
    output = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(devnull, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    sys.argv = ["rapport", *args]
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # Rapport.dump_stacks()
    from rapport.engine.cli.main import main

    main()


@dataclass
class Rapport:
    """A running ``rapport`` process and the file its output goes to."""

    log: Path
    pid: int
    _poll: Callable[[], int | None]
    #: Whether SIGUSR1 makes it write every thread's stack to its log (forked ones).
    dumps_stacks: bool = False

    def exitcode(self) -> int | None:
        return self._poll()

    def alive(self) -> bool:
        return self.exitcode() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            os.kill(self.pid, signum)

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None if it still runs after ``timeout`` seconds."""
        wait_for(lambda: not self.alive(), timeout, 0.02)
        return self.exitcode()

    def dump_stacks(self) -> None:
        """Have it write every thread's Python stack to its log (to see where it hangs)."""
        if self.dumps_stacks and self.alive():
            os.kill(self.pid, signal.SIGUSR1)
            time.sleep(0.3)

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM, and SIGKILL if it has not exited ``timeout`` seconds later."""
        self.signal(signal.SIGTERM)
        code = self.wait(timeout)
        if code is None:
            self.signal(signal.SIGKILL)
            self.wait(5)
        return code

    def until(self, condition: Callable[[], Any], timeout: float) -> bool:
        """Wait for ``condition`` while the process runs (False if it exits first)."""
        return wait_for(lambda: condition() or not self.alive(), timeout) and bool(condition())

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def tail(self, chars: int = 3000) -> str:
        """The end of its output, for an assertion's message."""
        return self.output()[-chars:]

    def messages(self) -> list[str]:
        """The log messages (JSON lines) and any plain lines it wrote."""
        found = []
        for line in self.output().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                found.append(line)
                continue
            found.append(str(entry.get("message", "")) if isinstance(entry, dict) else line)
        return found

    def entries(self) -> list[dict[str, Any]]:
        """The JSON log lines it wrote, with their fields (ids are fields, not text)."""
        found = []
        for line in self.output().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                found.append(entry)
        return found


def start(*args: str, cwd: Path, env: dict[str, str], log: Path) -> Rapport:
    """``rapport ARGS`` forked from the fork server, its output appended to ``log``."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    process = context.Process(
        target=_rapport_in_child, args=(list(args), dict(env), str(cwd), str(log)), daemon=True
    )
    process.start()
    assert process.pid is not None
    return Rapport(log, process.pid, lambda: process.exitcode, dumps_stacks=True)


def start_console(*args: str, cwd: Path, env: dict[str, str], log: Path) -> Rapport:
    """The installed ``rapport`` console script, as an operator starts it."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(RAPPORT), *args], cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    return Rapport(log, process.pid, process.poll)


# -- the outbox -----------------------------------------------------------------------
@dataclass(frozen=True)
class Queued:
    """A message :func:`seed` queued."""

    id: int
    key: str
    customer_id: str
    channel: str


def seed(
    url: str,
    channels: Sequence[str],
    *,
    customers: int | None = None,
    joined: datetime | None = None,
) -> list[Queued]:
    """Queue one due message per entry of ``channels`` ("sms" or "email"), in that
    order (each due a millisecond after the one before), to customers who granted both
    channels for offers (and joined at ``joined``, by default just now): one customer
    per message unless ``customers`` says otherwise."""
    engine = make_engine(url)
    now = datetime.now(UTC) - timedelta(seconds=5)
    people = customers or len(channels)
    rows: list[dict[str, Any]] = [
        {
            "id": f"F{n:04d}",
            "first_name": "Ada",
            "last_name": "Faults",
            "email": f"f{n}@example.com",
            "phone": f"+4420790{n:05d}",
            "locale": "en",
            # Where it is now about noon: the check before each send applies the SMS
            # quiet hours where the customer is, and these run on the real clock.
            "timezone": daytime_zone(now),
            "created_at": joined or now,
        }
        for n in range(people)
    ]
    messages = [
        outbox_row(
            customer_id=rows[n % people]["id"],
            campaign="faults",
            occasion=f"o{n}",
            channel=channel,
            topic="offers",
            locale="en",
            subject="An offer" if channel == "email" else None,
            body_text=f"Message {n}. Reply STOP to opt out.",
            status=MessageStatus.QUEUED,
            send_at=now + timedelta(milliseconds=n),
            created_at=now,
        )
        for n, channel in enumerate(channels)
    ]
    try:
        with engine.begin() as connection:
            connection.execute(insert(CUSTOMER), rows)
            record_consent(
                connection,
                [
                    ConsentChange(row["id"], channel, "offers", "granted", "test", now)
                    for row in rows
                    for channel in ("email", "sms")
                ],
                recorded_at=now,
            )
            if messages:
                connection.execute(insert(OUTBOX), messages)
            found = connection.execute(
                select(
                    OUTBOX.c.id,
                    OUTBOX.c.idempotency_key.label("key"),
                    OUTBOX.c.customer_id,
                    OUTBOX.c.channel,
                )
                .where(OUTBOX.c.campaign == "faults")
                .order_by(OUTBOX.c.send_at, OUTBOX.c.id)
            ).all()
        if engine.dialect.name == "sqlite":  # everything in the file, nothing in the WAL
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return [Queued(**row._mapping) for row in found]


@dataclass(frozen=True)
class Row:
    """An outbox row as the tests look at it."""

    id: int
    key: str
    customer_id: str
    channel: str
    status: str
    attempts: int
    send_at: datetime
    lease_until: datetime | None
    claimed_by: str | None
    last_error: str | None


def outbox(url: str) -> dict[int, Row]:
    """Every outbox row, by id."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    OUTBOX.c.id,
                    OUTBOX.c.idempotency_key.label("key"),
                    OUTBOX.c.customer_id,
                    OUTBOX.c.channel,
                    OUTBOX.c.status,
                    OUTBOX.c.attempts,
                    OUTBOX.c.send_at,
                    OUTBOX.c.lease_until,
                    OUTBOX.c.claimed_by,
                    OUTBOX.c.last_error,
                )
            ).all()
    finally:
        engine.dispose()
    return {row.id: Row(**row._mapping) for row in rows}


def statuses(url: str) -> dict[str, int]:
    """How many outbox rows are in each status."""
    counts: dict[str, int] = {}
    for row in outbox(url).values():
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


def settled(url: str) -> bool:
    """Nothing queued and due, nothing in flight."""
    now = datetime.now(UTC)
    return not any(
        row.status == "sending" or (row.status == "queued" and row.send_at <= now)
        for row in outbox(url).values()
    )
