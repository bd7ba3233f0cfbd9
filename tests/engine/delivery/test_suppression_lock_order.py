"""Two transactions adding the same addresses to the suppression list never deadlock.

Webhook batches (bounces, complaints) and dispatch passes call ``suppress`` in
transactions of their own. On PostgreSQL an insert of a key another open transaction
has just inserted waits for it; two batches that wrote the same two addresses in
opposite orders each waited for the other, and the server broke the deadlock by
failing one batch. ``suppress`` writes its rows in one order (channel, address), so
the second batch waits for the first, holding nothing, and then finds both rows there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select, text

from rapport.engine.core.db import make_engine
from rapport.engine.core.models import SUPPRESSION
from rapport.engine.delivery.suppression import suppress

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
FIRST = ("email", "a.rezaei@example.com", "bounce", "550 5.1.1")
SECOND = ("email", "z.wang@example.com", "complaint", None)


@pytest.fixture
def engine(migrated_postgres_url: str) -> Iterator[Engine]:
    db = make_engine(migrated_postgres_url)
    try:
        yield db
    finally:
        db.dispose()


def _waiting_for_a_lock(engine: Engine, backend: int) -> bool:
    with engine.connect() as probe:
        kind = probe.execute(
            text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
            {"pid": backend},
        ).scalar_one_or_none()
    return kind == "Lock"


def test_batches_of_the_same_addresses_in_opposite_orders_do_not_deadlock(
    engine: Engine,
) -> None:
    errors: list[BaseException] = []
    backend: list[int] = []
    with engine.connect() as first:
        first.begin()
        suppress(first, [FIRST], NOW)  # holds the first address, uncommitted

        def second_batch() -> None:
            try:
                with engine.begin() as second:
                    backend.append(second.execute(text("SELECT pg_backend_pid()")).scalar_one())
                    suppress(second, [SECOND, FIRST], NOW)  # the other order
            except BaseException as exc:  # reported to the test below
                errors.append(exc)

        worker = threading.Thread(target=second_batch)
        worker.start()
        # The second batch has started and waits on a row lock: for the first address
        # (in order) or, written in its caller's order, for the first after the second.
        for _ in range(3_000):  # polls, not a time limit: each sleeps a little
            if (backend and _waiting_for_a_lock(engine, backend[0])) or not worker.is_alive():
                break
            time.sleep(0.01)
        assert backend and _waiting_for_a_lock(engine, backend[0])
        suppress(first, [SECOND], NOW)
        first.commit()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert errors == []
    with engine.connect() as connection:
        kept = connection.execute(select(func.count()).select_from(SUPPRESSION)).scalar_one()
    assert kept == 2
