"""A database error's text in a log line, a logged traceback or /readyz never quotes a
value: PostgreSQL's primary message names the type and then the value it could not
read ('invalid input syntax for type integer: "maryam@example.com"'), and
``database_problem`` and ``describe`` passed that line on whole. The value is left
out; the names of tables, columns and constraints stay.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from rapport.engine.core.db import make_engine
from rapport.engine.core.tracebacks import database_problem, describe

VALUE = "maryam.karimi@example.com"


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    db = make_engine(postgres_url)
    try:
        yield db
    finally:
        db.dispose()


def _failure(engine: Engine, sql: str) -> DBAPIError:
    with engine.connect() as connection, pytest.raises(DBAPIError) as raised:
        connection.execute(text(sql))
    return raised.value


def test_a_value_postgresql_could_not_read_is_not_quoted(engine: Engine) -> None:
    failure = _failure(engine, f"SELECT CAST('{VALUE}' AS integer)")
    for said in (database_problem(failure), describe(failure)):
        assert VALUE not in said and "maryam" not in said, said
        assert "invalid input syntax for type integer" in said


def test_the_names_in_an_error_stay(engine: Engine) -> None:
    failure = _failure(engine, "SELECT nothing_here FROM no_such_table")
    assert 'relation "no_such_table" does not exist' in database_problem(failure)
