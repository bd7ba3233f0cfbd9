"""A database error never quotes the statement's values (make_engine's
``hide_parameters``): they are names, addresses and message bodies, and errors end up
in logs, and a logged one never quotes the row PostgreSQL's DETAIL shows. On SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from rapport.engine.core.logs import JSONFormatter, RedactingFilter


def test_a_failed_statement_s_error_does_not_quote_its_values(engine: Engine) -> None:
    statement = text("INSERT INTO customer (id, no_such_column) VALUES (:id, :body)")
    with pytest.raises(DBAPIError) as failed, engine.begin() as connection:
        connection.execute(statement, {"id": "C-Ada-Lovelace", "body": "Hi Ada, your order"})
    shown = str(failed.value)
    assert "no_such_column" in shown  # what went wrong is still said
    assert "Ada" not in shown and "SQL parameters hidden" in shown


def test_a_logged_database_error_keeps_its_reason_and_never_the_row(engine: Engine) -> None:
    """PostgreSQL's DETAIL quotes the failing row, hide_parameters or not: every
    logged exception goes through the redacting filter, which leaves it out."""
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE note (body TEXT CHECK (length(body) < 5))"))
    values = {"body": "Hi Ada, hello"}  # (a traceback shows the failing lines of code)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO note VALUES (:body)"), values)
    except DBAPIError:
        record = logging.LogRecord("rapport.runtime", logging.ERROR, "", 0, "job failed", (), None)
        record.exc_info = sys.exc_info()
    assert RedactingFilter().filter(record)
    entry = json.loads(JSONFormatter().format(record))
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert (
        "IntegrityError" in entry["exception"] and "check constraint" in entry["exception"].lower()
    )
    assert "Ada" not in entry["exception"]
