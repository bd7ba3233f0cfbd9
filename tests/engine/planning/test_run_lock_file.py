"""The SQLite planning-run lock is a file beside the database, never the database file:
closing a descriptor of that file drops every fcntl lock the process holds on it,
SQLite's own among them, and with the lock taken on the database file a SQLite daemon
stopped sending (test_sigterm_during_dispatch_exits_0_and_a_restart_sends_the_rest)."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from rapport.engine.core.db import make_engine, upgrade
from rapport.engine.planning.run_lock import planning_run


def test_the_sqlite_run_lock_is_a_file_beside_the_database(tmp_path: Path) -> None:
    database = tmp_path / "rapport.db"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    lock = Path(f"{database}.planning-run.lock")
    with planning_run(engine):
        assert lock.exists()
        with open(lock, "rb") as other, pytest.raises(BlockingIOError):
            fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # held: by the run
        with open(database, "rb") as same:  # the database file itself is not locked
            fcntl.flock(same.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(same.fileno(), fcntl.LOCK_UN)
    engine.dispose()
