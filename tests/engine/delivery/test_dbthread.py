"""The database thread keeps one connection from job to job, and gives it back when a
job failed on it or it has been idle (a server may close an idle connection)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, text

from rapport.engine.core.db import make_engine
from rapport.engine.delivery import dbthread
from rapport.engine.delivery.dbthread import DatabaseHealth, DatabaseThread


def test_jobs_share_a_connection_until_it_has_been_idle_too_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    checkouts: list[object] = []
    event.listen(engine, "checkout", lambda *args: checkouts.append(args))
    database = DatabaseThread(DatabaseHealth(), inline=True)

    for _ in range(3):
        with database.transaction(engine) as connection:
            connection.execute(text("SELECT 1"))
    assert len(checkouts) == 1

    monkeypatch.setattr(dbthread, "HELD_IDLE_SECONDS", -1.0)  # idle "too long" at once
    with database.transaction(engine) as connection:
        connection.execute(text("SELECT 1"))
    assert len(checkouts) == 2

    database.close()
    assert engine.pool.checkedout() == 0  # given back when the pass ends
    engine.dispose()


def test_a_failed_transaction_gives_its_connection_back(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    database = DatabaseThread(DatabaseHealth(), inline=True)

    with pytest.raises(OSError), database.transaction(engine):
        raise OSError("connection reset")

    assert engine.pool.checkedout() == 0
    engine.dispose()
