"""Writing planned messages: a batch inserts what is new and skips what is planned.

On PostgreSQL a batch of 50 rows or more goes through COPY and a temporary table; a
smaller one through a plain insert. Both must store the same values and skip the
same rows, on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from rapport.engine.core.models import CUSTOMER, OUTBOX, MessageStatus
from rapport.engine.delivery import outbox

SEND_AT = datetime(2026, 12, 24, 6, 30, tzinfo=UTC)
TEHRAN = timezone(timedelta(hours=3, minutes=30))


def row(n: int, **changes: Any) -> dict[str, Any]:
    base = {
        "idempotency_key": f"C{n}:offer:2026-12-24:email",
        "customer_id": f"C{n}",
        "campaign": "offer",
        "occasion": "2026-12-24",
        "channel": "email",
        "topic": "offers",
        "locale": "fa_IR",
        "variant": None,
        "status": MessageStatus.QUEUED.value,
        "subject": "سلام\t«یلدا»",
        "body_text": "متن\nدوم، با \\ و تب\t",
        "body_html": None if n % 2 else "<p>یلدا مبارک</p>",
        "segments": None,
        # An aware instant in another zone is stored as the same UTC instant.
        "send_at": SEND_AT.astimezone(TEHRAN),
        "expires_at": None if n % 3 else SEND_AT + timedelta(hours=8),
        "attempts": 0,
        "created_at": SEND_AT - timedelta(days=1),
    }
    return {**base, **changes}


@pytest.fixture
def customers(engine: Engine) -> Engine:
    with engine.begin() as connection:
        connection.execute(
            insert(CUSTOMER),
            [
                {
                    "id": f"C{n}",
                    "locale": "fa_IR",
                    "timezone": "Asia/Tehran",
                    "created_at": SEND_AT - timedelta(days=400),
                }
                for n in range(200)
            ],
        )
    return engine


@pytest.mark.parametrize("size", [10, 120])
def test_a_batch_inserts_the_new_rows_and_skips_the_planned_ones(
    customers: Engine, size: int
) -> None:
    engine = customers
    with engine.begin() as connection:
        assert outbox.enqueue(connection, [row(n) for n in range(0, size, 2)]) == (size + 1) // 2
    batch = [row(n) for n in range(size)]
    # The same occasion again under another key: skipped by the (customer, campaign,
    # occasion) constraint, as within the batch itself.
    batch.append(row(1, idempotency_key="C1:offer:2026-12-24:sms", channel="sms"))
    with engine.begin() as connection:
        assert outbox.enqueue(connection, batch) == size // 2
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(OUTBOX)).scalar_one() == size
        stored = connection.execute(
            select(
                OUTBOX.c.subject,
                OUTBOX.c.body_text,
                OUTBOX.c.body_html,
                OUTBOX.c.send_at,
                OUTBOX.c.expires_at,
                OUTBOX.c.status,
            ).where(OUTBOX.c.customer_id == "C5")
        ).one()
    assert stored.subject == "سلام\t«یلدا»"
    assert stored.body_text == "متن\nدوم، با \\ و تب\t"
    assert stored.body_html is None
    assert stored.send_at == SEND_AT
    assert stored.expires_at is None
    assert stored.status == MessageStatus.QUEUED


def test_two_large_batches_in_one_transaction_both_land(customers: Engine) -> None:
    with customers.begin() as connection:
        first = outbox.enqueue(connection, [row(n) for n in range(60)])
        second = outbox.enqueue(connection, [row(n) for n in range(40, 120)])
    assert (first, second) == (60, 60)
    with customers.connect() as connection:
        assert connection.execute(select(func.count()).select_from(OUTBOX)).scalar_one() == 120


def test_a_stored_row_keeps_its_expiry_and_html(customers: Engine) -> None:
    with customers.begin() as connection:
        outbox.enqueue(connection, [row(n) for n in range(100)])
    with customers.connect() as connection:
        stored = connection.execute(
            select(OUTBOX.c.body_html, OUTBOX.c.expires_at).where(OUTBOX.c.customer_id == "C6")
        ).one()
    assert stored.body_html == "<p>یلدا مبارک</p>"
    assert stored.expires_at == SEND_AT + timedelta(hours=8)


def test_one_instant_given_in_two_zones_in_one_batch_is_stored_as_one_utc_moment(
    customers: Engine,
) -> None:
    day_before = SEND_AT - timedelta(days=1)
    rows = [
        row(n, send_at=SEND_AT, created_at=day_before.astimezone(TEHRAN))
        if n % 2
        else row(n, send_at=SEND_AT.astimezone(TEHRAN), created_at=day_before)
        for n in range(100)
    ]
    with customers.begin() as connection:
        outbox.enqueue(connection, rows)
    with customers.connect() as connection:
        stored = set(connection.execute(select(OUTBOX.c.send_at, OUTBOX.c.created_at)).all())
    assert stored == {(SEND_AT, day_before)}


def test_planning_copies_are_binary_and_an_unknown_column_type_falls_back_to_text() -> None:
    from sqlalchemy import BigInteger, Column, MetaData, Numeric, Table

    from rapport.engine.core.models import PLAN_DECISION

    columns = list(row(1))
    assert outbox.binary_types(OUTBOX, columns) == [
        {"transactional": "bool", "segments": "int4", "attempts": "int4"}.get(
            name, "timestamp" if name.endswith("_at") else "text"
        )
        for name in columns
    ]
    decision = ["day", "customer_id", "campaign", "reason", "detail", "variant", "plan_run"]
    assert outbox.binary_types(PLAN_DECISION, decision) == ["date", *["text"] * 5, "int4"]
    # A column whose binary form is not known here (another integer size, a number)
    # makes the copy text: the server would misread binary data of the wrong type.
    other = Table("t", MetaData(), Column("big", BigInteger), Column("n", Numeric(18, 4)))
    assert outbox.binary_types(other, ["big"]) is None
    assert outbox.binary_types(other, ["n"]) is None
