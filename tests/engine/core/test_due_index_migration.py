"""Migration 0019 replaces ``ix_outbox_due`` without blocking a live PostgreSQL outbox.

A plain CREATE INDEX holds off every write to the outbox (planning, dispatch outcomes)
for the whole build, which takes minutes on millions of rows; dropping the old index
first leaves claims without one meanwhile. On PostgreSQL the new index is built beside
the old one with CREATE INDEX CONCURRENTLY, the old one dropped concurrently, and the
new one renamed; a re-run copes with what a failed or interrupted run left behind.
SQLite drops and creates.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from alembic import command
from factories import PLAN_AT, insert_customer
from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.exc import IntegrityError

from rapport.engine.core.db import _alembic_config, current_revision, make_engine, upgrade
from rapport.engine.core.models import OUTBOX

BEFORE, AFTER = "0018", "0019"
NEW_COLUMNS = ["status", "channel", "send_at", "id"]
OLD_COLUMNS = ["status", "send_at", "id"]
#: The name the migration builds the new index under (migrations/versions/0019_...).
BUILDING = "ix_outbox_due_building"


@pytest.fixture
def at_0018(postgres_url: str) -> Iterator[Engine]:
    """A PostgreSQL database at the revision before 0019."""
    engine = make_engine(postgres_url)
    try:
        upgrade(engine, BEFORE)
        yield engine
    finally:
        engine.dispose()


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements ``engine`` runs meanwhile, whitespace collapsed."""
    seen: list[str] = []

    def record(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def outbox_indexes(engine: Engine) -> dict[str, tuple[bool, list[str]]]:
    """The outbox's indexes named like ``ix_outbox_due``: whether each is valid, and its
    columns in order (pg_index, which lists an INVALID index too)."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT c.relname, i.indisvalid, "
                "array_agg(a.attname ORDER BY k.n) "
                "FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
                "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
                "WHERE i.indrelid = 'outbox_message'::regclass "
                "AND c.relname LIKE 'ix_outbox_due%' "
                "GROUP BY c.relname, i.indisvalid"
            )
        ).all()
    return {name: (valid, list(columns)) for name, valid, columns in rows}


def autocommit(engine: Engine, sql: str) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(sql))


def queue_two(engine: Engine) -> None:
    """Two queued messages: the same status, for an index build to fail on."""
    insert_customer(engine, "C")
    with engine.begin() as connection:
        connection.execute(
            OUTBOX.insert(),
            [
                {
                    "idempotency_key": f"C:x:{n}:email",
                    "customer_id": "C",
                    "campaign": "x",
                    "occasion": str(n),
                    "channel": "email",
                    "topic": "offers",
                    "locale": "fa_IR",
                    "body_text": "x",
                    "send_at": PLAN_AT - timedelta(minutes=n),
                    "created_at": PLAN_AT - timedelta(days=1),
                    "status": "queued",
                    "attempts": 0,
                }
                for n in range(2)
            ],
        )


def test_postgresql_builds_the_new_index_concurrently_before_dropping_the_old(
    at_0018: Engine,
) -> None:
    engine = at_0018
    with statements(engine) as seen:
        upgrade(engine, AFTER)
    index_statements = [s for s in seen if "INDEX" in s.upper()]
    assert index_statements == [
        f"DROP INDEX CONCURRENTLY IF EXISTS {BUILDING}",
        f"CREATE INDEX CONCURRENTLY {BUILDING} ON outbox_message ({', '.join(NEW_COLUMNS)})",
        "DROP INDEX CONCURRENTLY IF EXISTS ix_outbox_due",
        f"ALTER INDEX {BUILDING} RENAME TO ix_outbox_due",
    ]
    assert outbox_indexes(engine) == {"ix_outbox_due": (True, NEW_COLUMNS)}
    assert current_revision(engine) == AFTER


def test_postgresql_downgrade_builds_the_old_index_concurrently(at_0018: Engine) -> None:
    engine = at_0018
    upgrade(engine, AFTER)
    with statements(engine) as seen:
        command.downgrade(_alembic_config(engine), BEFORE)
    assert f"CREATE INDEX CONCURRENTLY {BUILDING} ON outbox_message (status, send_at, id)" in seen
    assert outbox_indexes(engine) == {"ix_outbox_due": (True, OLD_COLUMNS)}
    assert current_revision(engine) == BEFORE


def test_a_rerun_drops_the_invalid_index_a_failed_concurrent_build_left(
    at_0018: Engine,
) -> None:
    """A CONCURRENTLY build that fails leaves its index behind, INVALID: never read,
    yet written by every insert, and in the way of the next build of that name."""
    engine = at_0018
    queue_two(engine)
    with pytest.raises(IntegrityError):
        autocommit(
            engine, f"CREATE UNIQUE INDEX CONCURRENTLY {BUILDING} ON outbox_message (status)"
        )
    assert outbox_indexes(engine)[BUILDING] == (False, ["status"])

    upgrade(engine, AFTER)

    assert outbox_indexes(engine) == {"ix_outbox_due": (True, NEW_COLUMNS)}
    assert current_revision(engine) == AFTER


def test_a_rerun_completes_a_run_stopped_after_the_old_index_was_dropped(
    at_0018: Engine,
) -> None:
    engine = at_0018
    autocommit(engine, f"CREATE INDEX CONCURRENTLY {BUILDING} ON outbox_message (status)")
    autocommit(engine, "DROP INDEX CONCURRENTLY ix_outbox_due")

    upgrade(engine, AFTER)

    assert outbox_indexes(engine) == {"ix_outbox_due": (True, NEW_COLUMNS)}


def test_sqlite_drops_and_creates_the_index(tmp_path: Any) -> None:
    """SQLite has no concurrent build (and one writer at a time)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'rapport.db'}")

    def due_columns() -> list[str]:
        found = {
            index["name"]: index["column_names"]
            for index in inspect(engine).get_indexes("outbox_message")
        }
        assert BUILDING not in found
        return list(found["ix_outbox_due"])

    try:
        upgrade(engine, BEFORE)
        assert due_columns() == OLD_COLUMNS
        with statements(engine) as seen:
            upgrade(engine, AFTER)
        assert not [s for s in seen if "CONCURRENTLY" in s]
        assert due_columns() == NEW_COLUMNS
        command.downgrade(_alembic_config(engine), BEFORE)
        assert due_columns() == OLD_COLUMNS
        assert current_revision(engine) == BEFORE
    finally:
        engine.dispose()
