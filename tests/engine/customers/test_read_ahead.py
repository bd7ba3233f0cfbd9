"""Reading the next page while the caller plans this one (customers/read_ahead.py):
the caller sees the same pages in the same order as a plain read, a reader's error
reaches the caller, and a caller that stops early leaves no thread and no connection
behind."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from factories import seed_sample
from sqlalchemy import Connection, Engine, text

from rapport.engine.core.config import Settings
from rapport.engine.customers.profiles import iter_profile_batches
from rapport.engine.customers.read_ahead import read_ahead

AS_OF = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def counting(connection: Connection) -> Iterator[int]:
    """1, 2, 3, ... read from the database, without end."""
    n = 0
    while True:
        n += 1
        yield connection.execute(text("SELECT :n"), {"n": n}).scalar_one()


def readers_alive() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "rapport-read-ahead"]


def test_read_ahead_gives_the_pages_a_plain_read_gives_in_the_same_order(
    engine: Engine, tmp_path: Path
) -> None:
    settings = Settings()
    seed_sample(engine, settings, tmp_path, customers=60)
    with engine.connect() as connection:
        plain = [
            list(batch) for batch in iter_profile_batches(connection, settings, AS_OF, 7)
        ]
        ahead = [
            list(batch)
            for batch in iter_profile_batches(connection, settings, AS_OF, 7, ahead=True)
        ]
    assert [len(batch) for batch in plain] == [7] * 8 + [4]
    assert ahead == plain
    assert any(profile.history.orders for batch in ahead for profile in batch)


def test_a_readers_error_is_raised_in_the_caller(engine: Engine) -> None:
    def failing(connection: Connection) -> Iterator[int]:
        yield connection.execute(text("SELECT 1")).scalar_one()
        connection.execute(text("SELECT * FROM no_such_table"))
        yield 2

    pages = read_ahead(engine, failing)
    assert next(pages) == 1
    with pytest.raises(Exception, match="no_such_table"):
        next(pages)
    assert not readers_alive()


def test_a_caller_that_stops_early_stops_the_reader_and_returns_its_connection(
    engine: Engine,
) -> None:
    pages = read_ahead(engine, counting, depth=2)
    assert [next(pages), next(pages), next(pages)] == [1, 2, 3]
    pages.close()
    assert not readers_alive()
    assert engine.pool.checkedout() == 0


def test_a_caller_that_fails_while_planning_stops_the_reader(engine: Engine) -> None:
    class PlanningFailed(Exception):
        pass

    with pytest.raises(PlanningFailed):
        for n in read_ahead(engine, counting):
            if n == 5:
                raise PlanningFailed
    assert not readers_alive()
    assert engine.pool.checkedout() == 0


def test_the_reader_never_runs_more_than_depth_pages_ahead(engine: Engine) -> None:
    produced: list[int] = []

    def recording(connection: Connection) -> Iterator[int]:
        for n in counting(connection):
            produced.append(n)
            yield n

    pages = read_ahead(engine, recording, depth=1)
    assert next(pages) == 1
    # The reader holds page 2 in the queue and page 3 in its hand, never more.
    for _ in range(50):
        threading.Event().wait(0.01)
    assert len(produced) <= 3
    pages.close()
