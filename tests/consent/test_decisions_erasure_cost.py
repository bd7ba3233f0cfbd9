"""Erasing or exporting one customer reads their stored plan decisions, not everyone's.

``plan_decision``'s key is (day, customer_id, campaign): the docs' store holds a
decision per customer and campaign for each of ``retention.decision_days`` days (313 GB
on PostgreSQL). Reading one customer's by ``customer_id`` alone scanned the whole table,
inside the erasing transaction that holds the customer's row (0.9 s for 3 million
decisions on SQLite, minutes at that size). The work is counted in SQLite's virtual
machine steps, never time: it must not grow with other customers' decisions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, insert

from rapport.consent.profiling import delete_decisions, exported_decisions
from rapport.engine.core.models import PLAN_DECISION, PLAN_RUN

DAYS = [date(2026, 11, 1) + timedelta(days=n) for n in range(3)]


def _seed(engine: Engine, others: int) -> None:
    with engine.begin() as connection:
        for run, day in enumerate(DAYS, start=1):
            connection.execute(
                insert(PLAN_RUN).values(
                    id=run, day=day, started_at=datetime(2026, 11, 1, tzinfo=UTC)
                )
            )
            connection.execute(
                insert(PLAN_DECISION),
                [
                    {
                        "day": day,
                        "customer_id": f"C{n:06d}",
                        "campaign": "birthday",
                        "reason": "stage",
                        "detail": "age is 34",
                        "plan_run": run,
                    }
                    for n in range(others + 1)
                ],
            )


def _steps(connection: Connection, work: Callable[[], object]) -> int:
    counted = [0]

    def count() -> int:
        counted[0] += 1
        return 0

    raw = connection.connection.driver_connection
    raw.set_progress_handler(count, 10)
    try:
        work()
    finally:
        raw.set_progress_handler(None, 10)
    return counted[0]


def _cost(engine: Engine) -> tuple[int, int]:
    with engine.begin() as connection:
        exporting = _steps(connection, lambda: list(exported_decisions(connection, "C000000")))
        erasing = _steps(connection, lambda: delete_decisions(connection, "C000000"))
    return exporting, erasing


@pytest.mark.parametrize("migrated_url", ["sqlite"], indirect=True)  # SQLite counts steps
def test_one_customer_s_decisions_cost_the_same_however_many_others_have(
    engine: Engine,
) -> None:
    _seed(engine, 20_000)
    many = _cost(engine)
    with engine.begin() as connection:
        connection.execute(PLAN_DECISION.delete())
        connection.execute(PLAN_RUN.delete())
    _seed(engine, 10)
    few = _cost(engine)

    assert many[0] < few[0] * 3 + 100, "export"
    assert many[1] < few[1] * 3 + 100, "erasure"
