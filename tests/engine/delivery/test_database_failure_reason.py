"""When the database refuses writes (a full disk, a read-only file or server), the
dispatcher's log says why, not only the exception's class: "database work failed
(OperationalError: attempt to write a readonly database)". The reason is SQLite's own
message (a fixed vocabulary) or PostgreSQL's error class (ReadOnlySqlTransaction,
DiskFull, ...), never the error's text, which can quote the statement's values."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from factories import PERSIAN, REPO, seed_due_messages
from sqlalchemy import Connection, Engine, event

from rapport.channels.recording import RecordingChannel
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.core.db import make_engine
from rapport.engine.delivery import outbox
from rapport.engine.delivery.dispatch import Dispatcher

#: What each database says when a write meets a read-only database.
READ_ONLY = {
    "sqlite": "attempt to write a readonly database",
    "postgresql": "ReadOnlySqlTransaction",
}


@pytest.fixture
def due(migrated_url: str) -> Iterator[Engine]:
    """20 messages due now, e-mail and SMS, to 5 consenting customers."""
    seed_due_messages(migrated_url, 20, 5, PERSIAN, "batch")
    engine = make_engine(migrated_url)
    yield engine
    engine.dispose()


def make_read_only(connection: Connection) -> None:
    """From here on, this connection's writes are refused by the database itself."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA query_only = 1")
    else:
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def dispatcher(engine: Engine) -> Dispatcher:
    channel = RecordingChannel()
    settings = Settings(base_dir=REPO, secret_key="k")
    found = Dispatcher(
        engine, settings, {"email": channel, "sms": channel}, Signer("k"), worker_id="me"
    )
    found.write_patience = 0.5
    return found


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_dispatcher_on_a_read_only_database_logs_why_its_work_failed(
    due: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    @event.listens_for(due, "connect")
    def read_only(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        if due.dialect.name == "sqlite":
            cursor.execute("PRAGMA query_only = 1")
        else:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        cursor.close()

    due.dispose()  # every connection from now on is read-only
    with caplog.at_level(logging.ERROR, logger="rapport"):
        report = await dispatcher(due).run_once()

    assert report.database_error
    failed = [line for line in errors(caplog) if line.startswith("database work failed")]
    assert failed and READ_ONLY[due.dialect.name] in failed[0]


async def test_outcomes_a_read_only_database_refuses_are_logged_with_the_reason(
    due: Engine, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_apply = outbox.apply

    def refused(connection: Connection, *args: object, **kwargs: object) -> set[int]:
        make_read_only(connection)  # the disk filled up after the sends were claimed
        return real_apply(connection, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "apply", refused)
    with caplog.at_level(logging.ERROR, logger="rapport"):
        report = await dispatcher(due).run_once()

    assert report.unwritten
    failed = [line for line in errors(caplog) if line.startswith("writing ")]
    assert failed and READ_ONLY[due.dialect.name] in failed[0]
