"""A database error never quotes the statement's values (make_engine's
``hide_parameters``): they are names, addresses and message bodies, and errors end up
in logs. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError


def test_a_failed_statement_s_error_does_not_quote_its_values(engine: Engine) -> None:
    statement = text("INSERT INTO customer (id, no_such_column) VALUES (:id, :body)")
    with pytest.raises(DBAPIError) as failed, engine.begin() as connection:
        connection.execute(statement, {"id": "C-Ada-Lovelace", "body": "Hi Ada, your order"})
    shown = str(failed.value)
    assert "no_such_column" in shown  # what went wrong is still said
    assert "Ada" not in shown and "SQL parameters hidden" in shown
