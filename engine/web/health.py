"""Health and metrics endpoints: what an orchestrator and Prometheus ask.

``/readyz`` writes to the database to say it can be written: a database that answers
reads while every write waits for a lock (another process holding SQLite's write lock,
a PostgreSQL table lock, a read-only standby, a full disk) is not ready. The probe
rewrites the one row of ``alembic_version`` with its own value, in a transaction that
waits for a lock at most :data:`LOCK_WAIT_SECONDS`, and reads the schema revision in
the same transaction. One probe runs at a time; requests that arrive meanwhile share
its answer, and a probe stuck in the driver is answered for after
:data:`PROBE_SECONDS` without starting another.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import hmac
import threading
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rapport.engine.core.db import head_revision
from rapport.engine.runtime.metrics import exposition

#: How long the probe's write waits for a lock before the database counts as not writable.
LOCK_WAIT_SECONDS = 1.0
#: How long /readyz waits for a probe's answer (a connection attempt may hang longer).
PROBE_SECONDS = 3.0


async def healthz(request: Request) -> Response:
    """Alive: the process answers. Says nothing about its dependencies, on purpose."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready: the database can be written and its schema is current, the scheduler (when
    this process runs one) is running, and its dispatch ticks are succeeding. 503 with
    the failing checks, each with its reason, otherwise."""
    state = request.app.state
    checks: dict[str, str] = {}
    probe: WriteProbe = state.write_probe
    found = await probe.result()
    checks["database"] = found.problem or "ok"
    if found.problem is None:
        checks["migrations"] = "ok" if found.revision == _head() else "not at head"
    scheduler = getattr(state, "scheduler_running", None)
    if scheduler is not None:
        checks["scheduler"] = "ok" if scheduler() else "stopped"
    dispatch = getattr(state, "dispatch_problem", None)
    if dispatch is not None:
        checks["dispatch"] = dispatch() or "ok"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@dataclass(frozen=True)
class MetricsSource:
    """What /metrics reads and who may read it; kept on ``app.state.metrics``."""

    engine: Engine
    #: The bearer token a scrape must send (``web.metrics_token``), or None: open.
    token: str | None = None


async def metrics(request: Request) -> Response:
    """Prometheus text. It names campaigns and volumes: with ``web.metrics_token`` set a
    scrape must send ``Authorization: Bearer <token>`` (401 otherwise)."""
    source: MetricsSource = request.app.state.metrics
    if source.token is not None and not _bearer_matches(request, source.token):
        return JSONResponse(
            {"error": "metrics token required (Authorization: Bearer ...)"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    body = await run_in_threadpool(exposition, source.engine)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


def _bearer_matches(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


@functools.cache
def _head() -> str | None:
    return head_revision()


# -- the write probe -----------------------------------------------------------------------
@dataclass(frozen=True)
class Probed:
    #: The schema revision read in the probe's transaction (None: not migrated).
    revision: str | None
    #: Why the database is not ready ("unreachable: ...", "not writable: ..."), or None.
    problem: str | None


class WriteProbe:
    """One probe at a time, on a daemon thread (a write stuck in the driver must keep
    neither the process alive nor a request waiting)."""

    def __init__(self, engine: Engine, wait: float = LOCK_WAIT_SECONDS) -> None:
        self.engine = engine
        self.wait = wait
        self._lock = threading.Lock()
        self._running: concurrent.futures.Future[Probed] | None = None

    async def result(self, timeout: float = PROBE_SECONDS) -> Probed:
        with self._lock:
            running = self._running
            if running is None or running.done():
                running = self._running = concurrent.futures.Future()
                threading.Thread(
                    target=self._run, args=(running,), name="rapport-write-probe", daemon=True
                ).start()
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(running)), timeout)
        except TimeoutError:
            return Probed(None, f"no answer within {timeout:g} s")

    def _run(self, future: concurrent.futures.Future[Probed]) -> None:
        future.set_running_or_notify_cancel()
        try:
            future.set_result(probe_write(self.engine, self.wait))
        except BaseException as exc:  # handed to every request waiting for this probe
            future.set_exception(exc)


def probe_write(engine: Engine, wait: float = LOCK_WAIT_SECONDS) -> Probed:
    """Write to the database and read its schema revision, waiting ``wait`` seconds at
    most for a lock; the database's problem, if any, in a few words."""
    try:
        connection = engine.connect()
    except Exception as exc:  # any failure to reach the database means "not ready"
        return Probed(None, f"unreachable: {type(exc).__name__}")
    restore: str | None = None
    with connection:
        try:
            restore = _short_waits(connection, wait)
            if not inspect(connection).has_table("alembic_version"):
                return Probed(None, None)  # not migrated: the migrations check says so
            connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
            revision = connection.execute(text("SELECT version_num FROM alembic_version"))
            found = revision.scalar()
            connection.commit()
            return Probed(found, None)
        except DBAPIError as exc:
            return Probed(None, f"not writable: {_why(exc, wait)}")
        finally:
            try:
                connection.rollback()
                if restore is not None:
                    connection.exec_driver_sql(restore)
            except DBAPIError:  # never hand a short busy timeout back to the pool
                connection.invalidate()


def _short_waits(connection: Connection, wait: float) -> str | None:
    """Bound the probe's lock waits; returns the statement that restores SQLite's own
    busy timeout on this pooled connection (PostgreSQL's settings end with the
    transaction)."""
    milliseconds = max(1, int(wait * 1000))
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SET LOCAL lock_timeout = {milliseconds}"))
        connection.execute(text(f"SET LOCAL statement_timeout = {2 * milliseconds}"))
        return None
    previous = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    connection.exec_driver_sql(f"PRAGMA busy_timeout = {milliseconds}")
    return f"PRAGMA busy_timeout = {int(previous or 0)}"


def _why(exc: DBAPIError, wait: float) -> str:
    """A short reason that names no value: SQLite's messages are a fixed vocabulary,
    PostgreSQL's error classes name the condition (LockNotAvailable, QueryCanceled,
    ReadOnlySqlTransaction, DiskFull...)."""
    original = exc.orig
    if original is None:
        return type(exc).__name__
    name = type(original).__name__
    if name == "LockNotAvailable" or str(original).startswith("database is locked"):
        return f"no write lock within {wait:g} s"
    if name == "QueryCanceled":
        return f"a write took longer than {2 * wait:g} s"
    if type(original).__module__.startswith("sqlite3"):
        return str(original).splitlines()[0] if str(original) else name
    return name
