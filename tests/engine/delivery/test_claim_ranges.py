"""A claim's work does not grow with the due rows of channels it does not claim.

Each channel's pump claims its own channel (``channels=[name]``), and once a pass the
dispatcher counts the due messages that no configured channel sends, which wait
(``claims.waiting``); neither may read the other channels' rows. After a broadcast the outbox
holds hundreds of thousands of due e-mails and SMS interleaved by ``send_at``; a claim
that read past the other channel's rows, or read every due row and sorted them, cost
tens of milliseconds per batch at 535k rows (issue 20, point 2).

The work is measured, not timed: on PostgreSQL the rows the claim's plan reads from the
outbox (EXPLAIN ANALYZE: rows returned plus rows removed by a filter, each scan), on
SQLite the virtual machine's instructions. Every claim measured is rolled back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from factories import PLAN_AT, insert_customer
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import DBAPIError

from rapport.engine.core.db import make_engine, upgrade
from rapport.engine.core.models import OUTBOX
from rapport.engine.delivery import claims

LIMIT = 50
#: SQLite calls the progress handler every this many VM instructions.
_STEP = 10


def queue(engine: Engine, channel: str, count: int, *, first: int, minutes: int) -> None:
    """``count`` queued messages of ``channel`` due ``minutes`` before PLAN_AT."""
    with engine.begin() as connection:
        connection.execute(
            OUTBOX.insert(),
            [
                {
                    "idempotency_key": f"C:x:{n}:{channel}",
                    "customer_id": "C",
                    "campaign": "x",
                    "occasion": str(n),
                    "channel": channel,
                    "topic": "offers",
                    "locale": "fa_IR",
                    "body_text": "x",
                    "send_at": PLAN_AT - timedelta(minutes=minutes),
                    "created_at": PLAN_AT - timedelta(days=1),
                    "status": "queued",
                    "attempts": 0,
                }
                for n in range(first, first + count)
            ],
        )


def _rows_read(node: dict[str, Any]) -> int:
    """The outbox rows an EXPLAIN ANALYZE plan node and its children read."""
    read = 0
    if node.get("Relation Name") == "outbox_message" and "Scan" in node["Node Type"]:
        read += node["Actual Rows"] * node["Actual Loops"]
        read += node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
    return read + sum(_rows_read(child) for child in node.get("Plans", []))


@contextmanager
def _explained(connection: Connection, first: str = "WITH") -> Iterator[None]:
    """Runs the statement starting with ``first`` (the claim's UPDATE) as EXPLAIN
    (ANALYZE, FORMAT JSON): it returns its plan."""

    def explain(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> Any:
        if statement.lstrip().startswith(first):
            statement = "EXPLAIN (ANALYZE, FORMAT JSON) " + statement
        return statement, parameters

    event.listen(connection, "before_cursor_execute", explain, retval=True)
    try:
        yield
    finally:
        event.remove(connection, "before_cursor_execute", explain)


def claim_work(engine: Engine, channels: Collection[str] | None = None) -> tuple[int, int]:
    """(messages claimed, work done) by one claim of LIMIT, rolled back."""
    with engine.connect() as connection:
        connection.begin()
        statement = claims._claim_statement(connection, channels)
        parameters = {
            "claim_now": PLAN_AT,
            "claim_until": PLAN_AT + timedelta(minutes=5),
            "claim_worker": "w",
            "claim_limit": LIMIT,
        }
        if engine.dialect.name == "postgresql":
            with _explained(connection):
                document = connection.execute(statement, parameters).scalar_one()
            plan = (document if isinstance(document, list) else json.loads(document))[0]["Plan"]
            claimed, work = plan["Actual Rows"], _rows_read(plan)
        else:
            raw = connection.connection.dbapi_connection
            steps = [0]

            def count() -> int:
                steps[0] += _STEP
                return 0

            raw.set_progress_handler(count, _STEP)  # type: ignore[union-attr]
            try:
                claimed = len(connection.execute(statement, parameters).all())
            finally:
                raw.set_progress_handler(None, 0)  # type: ignore[union-attr]
            work = steps[0]
        connection.rollback()
    return claimed, work


def test_a_channel_claim_reads_as_much_with_ten_times_the_other_channel_due_first(
    engine: Engine,
) -> None:
    insert_customer(engine, "C")
    queue(engine, "sms", 200, first=0, minutes=10)
    queue(engine, "email", 300, first=1000, minutes=60)  # due earlier than every SMS
    claimed, few = claim_work(engine, channels=["sms"])
    queue(engine, "email", 2700, first=2000, minutes=60)
    claimed_again, many = claim_work(engine, channels=["sms"])
    assert claimed == claimed_again == LIMIT
    assert many <= few * 1.2, (few, many)
    if engine.dialect.name == "postgresql":  # the queued range, the expired one, the update
        assert many <= 2 * LIMIT + 10, many


def count_work(engine: Engine, configured: Collection[str]) -> tuple[dict[str, int], int]:
    """(the waiting messages by channel, work done) of one count."""
    with engine.connect() as connection:
        statement = claims._waiting_statement(connection, PLAN_AT, configured)
        if engine.dialect.name == "postgresql":
            with _explained(connection, "SELECT"):
                document = connection.execute(statement).scalar_one()
            plan = (document if isinstance(document, list) else json.loads(document))[0]["Plan"]
            return claims.waiting(connection, PLAN_AT, configured), _rows_read(plan)
        raw = connection.connection.dbapi_connection
        steps = [0]

        def count() -> int:
            steps[0] += _STEP
            return 0

        raw.set_progress_handler(count, _STEP)  # type: ignore[union-attr]
        try:
            found = claims.waiting(connection, PLAN_AT, configured)
        finally:
            raw.set_progress_handler(None, 0)  # type: ignore[union-attr]
        return found, steps[0]


def test_counting_what_waits_for_other_channels_reads_as_much_with_ten_times_the_configured_due(
    engine: Engine,
) -> None:
    insert_customer(engine, "C")
    queue(engine, "fax", 200, first=0, minutes=10)
    queue(engine, "email", 150, first=1000, minutes=60)
    queue(engine, "sms", 150, first=2000, minutes=60)
    counted, few = count_work(engine, ["email", "sms"])
    queue(engine, "email", 1350, first=3000, minutes=60)
    queue(engine, "sms", 1350, first=5000, minutes=60)
    counted_again, many = count_work(engine, ["email", "sms"])
    assert counted == counted_again == {"fax": 200}
    assert many <= few * 1.2, (few, many)


@pytest.fixture
def english_collation(postgres_admin: Engine, postgres_drops: Any) -> Iterator[Engine]:
    """A migrated PostgreSQL database whose text sorts as in English (ICU en-US), where
    "a" comes before "B" (code points put "B" first)."""
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    try:
        with postgres_admin.connect() as connection:
            connection.execute(
                text(
                    f'CREATE DATABASE "{name}" TEMPLATE template0 '
                    "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
                )
            )
    except DBAPIError as exc:  # a server built without ICU
        pytest.skip(f"no ICU en-US collation on this PostgreSQL server: {exc.orig}")
    url = postgres_admin.url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        postgres_drops.put(name)


def test_counting_what_waits_for_unconfigured_channels_follows_the_database_collation(
    english_collation: Engine,
) -> None:
    engine = english_collation
    insert_customer(engine, "C")
    for n, channel in enumerate(["B", "a", "aa", "C"]):
        queue(engine, channel, n + 1, first=10 * n, minutes=10)
    with engine.connect() as connection:
        assert claims.waiting(connection, PLAN_AT, ["a", "B"]) == {"aa": 3, "C": 4}
