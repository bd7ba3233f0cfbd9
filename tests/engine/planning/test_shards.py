"""A large planning run shared between processes plans exactly what one process plans.

Runs on SQLite and PostgreSQL with real worker processes; the threshold that keeps
small runs in one process is lowered so a few hundred customers are shared.
"""

from __future__ import annotations

from pathlib import Path

from factories import make_settings, plan_day, seed_sample
from sqlalchemy import Engine, delete, func, select

from rapport.engine.core.config import PlanningConfig, Settings
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import CUSTOMER, OUTBOX
from rapport.engine.planning.run import PlanReport
from rapport.engine.planning.shards import split

CUSTOMERS = 240


def settings_with(workers: int, per_worker: int = 1) -> Settings:
    base = make_settings()
    planning = PlanningConfig(workers=workers, min_customers_per_worker=per_worker, batch_size=50)
    return base.model_copy(update={"planning": planning})


def seed(engine: Engine, tmp_path: Path) -> None:
    seed_sample(engine, settings_with(1), tmp_path, customers=CUSTOMERS, data_seed=5)


def plan(engine: Engine, settings: Settings) -> PlanReport:
    report: PlanReport = plan_day(engine, settings)
    return report


def planned_rows(engine: Engine) -> set[tuple]:  # type: ignore[type-arg]
    """Every outbox row but its signed links (whose timestamps differ run to run)."""
    columns = [
        c
        for c in OUTBOX.c
        if c.name not in ("id", "body_text", "body_html", "created_at", "updated_at")
    ]
    with engine.connect() as connection:
        return {tuple(row) for row in connection.execute(select(*columns))}


def test_ranges_cover_every_customer_once_in_order(engine: Engine, tmp_path: Path) -> None:
    seed(engine, tmp_path)
    with engine.connect() as connection:
        ranges = split(connection, settings_with(3), engine.url)
        sizes = []
        for after, up_to in ranges:
            query = select(func.count()).select_from(CUSTOMER)
            if after is not None:
                query = query.where(CUSTOMER.c.id > after)
            if up_to is not None:
                query = query.where(CUSTOMER.c.id <= up_to)
            sizes.append(connection.execute(query).scalar_one())
    assert len(ranges) == 3
    assert ranges[0][0] is None and ranges[-1][1] is None
    assert all(ranges[i][1] == ranges[i + 1][0] for i in range(len(ranges) - 1))
    assert sum(sizes) == CUSTOMERS
    assert max(sizes) - min(sizes) <= 1


def test_a_run_too_small_to_share_stays_in_one_process(engine: Engine, tmp_path: Path) -> None:
    seed(engine, tmp_path)
    with engine.connect() as connection:
        assert split(connection, settings_with(2, per_worker=CUSTOMERS), engine.url) == [
            (None, None)
        ]
        assert len(split(connection, settings_with(2, per_worker=CUSTOMERS // 2), engine.url)) == 2


def test_an_in_memory_database_is_never_shared() -> None:
    memory = make_engine("sqlite://")
    with memory.connect() as connection:
        assert split(connection, settings_with(2), memory.url) == [(None, None)]


def test_a_run_shared_by_two_processes_plans_what_one_process_plans(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine, tmp_path)
    shared = plan(engine, settings_with(2))
    shared_rows = planned_rows(engine)
    with engine.begin() as connection:
        connection.execute(delete(OUTBOX))
    alone = plan(engine, settings_with(1))

    assert shared.customers == alone.customers == CUSTOMERS
    assert shared.inserted == alone.inserted > 0
    assert shared.planned == alone.planned
    assert shared.skipped == alone.skipped
    assert shared_rows == planned_rows(engine)


def test_replanning_a_shared_run_adds_nothing(engine: Engine, tmp_path: Path) -> None:
    seed(engine, tmp_path)
    first = plan(engine, settings_with(2))
    again = plan(engine, settings_with(2))
    assert first.inserted > 0
    assert again.inserted == 0
    assert again.already_planned == first.inserted
