"""A private PostgreSQL cluster for the fault tests: one this session owns and may kill.

The shared server on 5432 is everyone's, so a test that kills PostgreSQL gets its own
cluster: ``initdb`` into a temporary directory owned by ``postgres`` (initdb and the
server refuse to run as root, so both run as that user through ``runuser``), started
on a free loopback port with ``fsync`` off (only an operating-system crash would lose
data; ``synchronous_commit`` stays on, so a commit the client saw survives a killed
server), killed with ``pg_ctl stop -m immediate`` (the postmaster and every backend
exit at once, as on a crash) and started again on the same port, so the dispatcher's
URL stays valid across the outage.

Each test gets its own database, copied from a template migrated once per cluster;
one background thread makes the next test's copy and drops the last one's meanwhile,
and is idle before the server is killed or made read-only.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from rapport.engine.core.db import make_engine, upgrade

BIN = Path(os.environ.get("RAPPORT_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "postgres"


def missing() -> str | None:
    """Why no private cluster can be made here (None when one can)."""
    if not (BIN / "initdb").exists():
        return f"{BIN / 'initdb'} is not installed"
    if os.geteuid() != 0:
        return "a private PostgreSQL cluster needs root (to run initdb as postgres)"
    if shutil.which("runuser") is None:
        return "runuser is not installed"
    try:
        import pwd

        pwd.getpwnam(USER)
    except KeyError:
        return f"there is no {USER} user"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateCluster:
    """A PostgreSQL cluster of this test session's own, on a port of its own."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="rapport-faults-pg-"))
        shutil.chown(self.root, USER, USER)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.template: str | None = None
        #: Jobs for the background thread: ("create", "") or ("drop", name); None ends it.
        self._jobs: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._as_postgres(
            str(BIN / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            USER,
            "--auth",
            "trust",
            "--no-sync",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
        )
        settings = (
            f"port = {self.port}\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.root}'\n"
            "fsync = off\n"
            "full_page_writes = off\n"
            "shared_buffers = 16MB\n"
            "max_connections = 60\n"
        )
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(settings)
        self.start()

    # -- the server --------------------------------------------------------------------
    def _as_postgres(self, *command: str, timeout: float = 60) -> str:
        done = subprocess.run(
            ["runuser", "-u", USER, "--", *command],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr or done.stdout}")
        return done.stdout

    def _pg_ctl(self, *args: str) -> None:
        self._as_postgres(str(BIN / "pg_ctl"), "--pgdata", str(self.data), *args)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._pg_ctl("start", "--wait", "--timeout", "60", "--log", str(self.log))

    def kill(self) -> None:
        """Stop at once, as a crash would: no checkpoint, every connection cut."""
        self._jobs.join()  # no copy or drop half done
        self._pg_ctl("stop", "--mode", "immediate", "--wait")

    def running(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def destroy(self) -> None:
        if self._worker is not None:
            self._jobs.put(None)
            self._worker.join(timeout=60)
        with contextlib.suppress(Exception):
            self._pg_ctl("stop", "--mode", "immediate", "--wait")
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases ---------------------------------------------------------------------
    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def _admin(self, statement: str) -> None:
        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(statement))
        finally:
            admin.dispose()

    def migrated_database(self) -> str:
        """The URL of a new database at the head revision (a copy of the template)."""
        if self.template is None:
            name = f"rapport_template_{uuid.uuid4().hex[:8]}"
            self._admin(f'CREATE DATABASE "{name}"')
            engine = make_engine(self.url(name))
            try:
                upgrade(engine)
            finally:
                engine.dispose()
            self.template = name
            self._worker = threading.Thread(target=self._work, name="faults-pg", daemon=True)
            self._worker.start()
            self._jobs.put(("create", ""))
        self._jobs.put(("create", ""))  # the next test's copy, made meanwhile
        found = self._ready.get(timeout=120)
        if isinstance(found, BaseException):
            raise found
        return self.url(found)

    def drop(self, url: str) -> None:
        """Start the server if a test left it down, and drop the test's database (in
        the background)."""
        if not self.running():
            self.start()
        self._jobs.put(("drop", url.rsplit("/", 1)[1]))

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            kind, name = job
            try:
                if kind == "create":
                    name = f"rapport_faults_{uuid.uuid4().hex[:12]}"
                    self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
                    self._ready.put(name)
                else:
                    self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except BaseException as exc:  # handed to the test waiting for a copy
                if kind == "create":
                    self._ready.put(exc)
            finally:
                self._jobs.task_done()
        self._jobs.task_done()

    @contextlib.contextmanager
    def read_only(self) -> Iterator[None]:
        """Every transaction read-only while inside: reads answer, writes fail at once.

        ``default_transaction_read_only`` set in the configuration and reloaded applies
        to the sessions already open too (none of them sets it itself).
        """
        self._jobs.join()  # no copy or drop half done
        self._admin("ALTER SYSTEM SET default_transaction_read_only = on")
        self._admin("SELECT pg_reload_conf()")
        time.sleep(0.2)  # the backends read the reloaded configuration between queries
        try:
            yield
        finally:
            self._writable()

    def _writable(self) -> None:
        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text("SET default_transaction_read_only = off"))
                connection.execute(text("ALTER SYSTEM RESET default_transaction_read_only"))
                connection.execute(text("SELECT pg_reload_conf()"))
        finally:
            admin.dispose()


class TableLock:
    """``LOCK TABLE ... IN EXCLUSIVE MODE`` held by a connection of its own: readers go
    on, every writer of the table waits, as behind SQLite's write lock."""

    def __init__(self, url: str, table: str) -> None:
        self.engine = create_engine(url)
        self.table = table
        self._connection: Any = None

    def acquire(self) -> None:
        connection = self.engine.connect()
        connection.execute(text(f"LOCK TABLE {self.table} IN EXCLUSIVE MODE"))
        self._connection = connection

    def release(self) -> None:
        if self._connection is not None:
            self._connection.rollback()
            self._connection.close()
            self._connection = None
        self.engine.dispose()
