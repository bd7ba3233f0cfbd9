"""One planning run at a time beside ``rapport plan``, so caps hold across days.

Caps (``caps.per_day``, ``caps.per_week``) are counted from what the outbox holds when
a batch is planned. Two runs planning two days at once for the same customers each
counted the other's messages as not there: ``rapport plan --date`` of tomorrow while a
daemon planned today gave 19,793 of 20,000 customers two marketing e-mails within a
week under ``per_week: 1`` (found by the sequence tester; two ``rapport plan`` of two
days by hand did the same, on SQLite and PostgreSQL). Daemons sharing PostgreSQL
already keep their shards of two days apart (:mod:`.shard_leases`); this lock keeps a
whole run apart from them:

* ``rapport plan`` (and the SQLite daemon's run) holds it exclusively for its run;
* a PostgreSQL daemon holds it shared while it plans a day's shards, so daemons still
  plan together, and a run by hand waits for them (and they for it).

PostgreSQL: an advisory lock on a connection of the run's own (the server drops it if
the process dies); waiting requests are served in order, so a run by hand is not
starved by daemons. SQLite: ``flock`` on ``<database>.planning-run.lock`` beside it, as
the daemons' planning lock is (:mod:`rapport.engine.runtime.leader`). Never on the
database file itself: closing any descriptor of that file drops every ``fcntl`` lock
the process holds on it, SQLite's own included (SQLite's "how to corrupt" notes, 2.2),
so another process could write under a transaction this one believes it holds.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator

from sqlalchemy import Engine, text

from rapport.engine.core.db import in_memory

#: An arbitrary constant naming this lock among the database's advisory locks.
RUN_LOCK_KEY = 0x52504C4E  # "RPLN"


@contextlib.contextmanager
def planning_run(
    engine: Engine, *, shared: bool = False, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the planning-run lock for the ``with`` block (see the module doc).
    ``on_wait`` is called once before waiting, when the lock is not free at once (a
    run by hand then says why it does not start)."""
    if engine.dialect.name == "postgresql":
        kind = "_shared" if shared else ""
        key = {"key": RUN_LOCK_KEY}
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            wait = text(f"SELECT pg_advisory_lock{kind}(:key)")
            if on_wait is None:
                connection.execute(wait, key)
            # A try respects the requests already waiting: it never jumps their queue.
            elif not connection.execute(
                text(f"SELECT pg_try_advisory_lock{kind}(:key)"), key
            ).scalar_one():
                on_wait()
                connection.execute(wait, key)
            try:
                yield
            finally:
                connection.execute(
                    text(f"SELECT pg_advisory_unlock{kind}(:key)"), {"key": RUN_LOCK_KEY}
                )
        return
    database = engine.url.database
    if in_memory(engine.url) or not database:
        yield
        return
    with open(f"{database}.planning-run.lock", "a+b") as handle:  # see the module doc
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        try:
            fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle.fileno(), mode)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
