"""One schema upgrade at a time on a database.

``rapport db upgrade`` is safe to run on every start (docs/operations.md's systemd
unit runs it before each daemon), so machines started together run it together.
Alembic takes no lock of its own: each upgrade read the same revision and ran the same
migrations, and all but one failed with exit 3 on a table or type the other had just
made. On SQLite, whose schema changes Alembic runs without a transaction, two upgrades
could also interleave the steps of a table rebuild. So an upgrade first takes this
lock; a second one waits for it, then finds the schema at head and does nothing.

On PostgreSQL it is a session-level advisory lock on a connection of its own (released
when the upgrade ends, or by the server when the process dies); on a SQLite file an
exclusive ``flock`` on a file beside the database, ``<database>.migrate.lock``, as the
planning lock has (:mod:`rapport.engine.runtime.leader`): never a lock on the database
file itself, whose POSIX locks SQLite holds and any ``close`` of it would drop. An
in-memory database exists for one connection only and needs none.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

#: An arbitrary constant naming the upgrade's lock among the database's advisory locks
#: (the planning lock is 0x52415050, the shard locks a space of their own).
MIGRATION_LOCK_KEY = 0x52414D47  # "RAMG"
#: How often a waiting upgrade asks again for PostgreSQL's lock.
POLL_SECONDS = 0.5


def lock_file(engine: Engine) -> Path | None:
    """The file a SQLite upgrade locks; None for PostgreSQL and in-memory SQLite."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
        return None
    return Path(f"{engine.url.database}.migrate.lock")


@contextmanager
def migration_lock(engine: Engine, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the database's upgrade lock inside the block; ``on_wait`` is called once
    when another upgrade holds it, before waiting for it (however long that upgrade
    takes: an index built concurrently on millions of rows takes minutes)."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, on_wait):
            yield
        return
    path = lock_file(engine)
    if path is None:
        yield
        return
    with _file_lock(path, on_wait):
        yield


@contextmanager
def _advisory_lock(engine: Engine, on_wait: Callable[[], None] | None) -> Iterator[None]:
    """Tried again every :data:`POLL_SECONDS` rather than waited for in one statement:
    a waiting ``pg_advisory_lock`` is a transaction that stays open, and the upgrade
    holding the lock may be building an index with ``CREATE INDEX CONCURRENTLY``
    (migration 0019), which waits for every open transaction to end: each would wait
    for the other forever (seen with three upgrades started together)."""
    key = {"key": MIGRATION_LOCK_KEY}
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        try_lock = text("SELECT pg_try_advisory_lock(:key)")
        if not connection.execute(try_lock, key).scalar_one():
            if on_wait is not None:
                on_wait()
            while not connection.execute(try_lock, key).scalar_one():
                time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            # The connection goes back to the pool: a session lock would stay with it.
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)


@contextmanager
def _file_lock(path: Path, on_wait: Callable[[], None] | None) -> Iterator[None]:
    with path.open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
