"""Which daemon runs what must run once: chosen by the database, never by us.

On SQLite the lock holder is the one daemon that plans; on PostgreSQL every daemon
plans its claimed shards (engine/planning/shard_leases.py) and the holder only runs
the nightly retention.

On PostgreSQL the holder keeps a session-level advisory lock on a connection of its
own for as long as it lives; when its process dies the connection closes, the lock is
released, and the next daemon to try takes over. On SQLite (one machine) an exclusive
``flock`` on a file beside the database does the same. Both are tried without waiting.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)
#: An arbitrary constant naming Rapport's planning lock among the database's locks.
PLANNING_LOCK_KEY = 0x52415050  # "RAPP"


class PlanningLock(Protocol):
    def try_acquire(self) -> bool: ...

    def release(self) -> None: ...


class PostgresPlanningLock:
    def __init__(self, engine: Engine, key: int = PLANNING_LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self._connection: Connection | None = None

    def try_acquire(self) -> bool:
        if self._connection is not None:
            try:  # still ours? a dead connection means the lock is gone too
                self._connection.execute(text("SELECT 1"))
                return True
            except DBAPIError:
                self._drop()
        connection = self.engine.connect()
        connection.execution_options(isolation_level="AUTOCOMMIT")
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
        if got.scalar_one():
            self._connection = connection
            log.info("this daemon now plans (advisory lock held)", extra={"lock_key": self.key})
            return True
        connection.close()
        return False

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(DBAPIError):
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None


class FilePlanningLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def try_acquire(self) -> bool:
        if self._handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        log.info("this daemon now plans (lock file held)")
        return True

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def planning_lock(engine: Engine) -> PlanningLock:
    if engine.dialect.name == "postgresql":
        return PostgresPlanningLock(engine)
    database = engine.url.database or "rapport"
    return FilePlanningLock(Path(f"{database}.planning.lock"))
