"""After planning grows the outbox by a large share, PostgreSQL's statistics of it are
fresh: a claim then reads its batch, not every due row (engine/delivery/statistics.py)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from factories import insert_customer, make_settings, outbox_row, plan_day, seed_sample
from sqlalchemy import Engine, func, insert, select, text

from rapport.engine.core.models import OUTBOX, MessageStatus
from rapport.engine.delivery import statistics
from rapport.engine.delivery.statistics import analyze_if_grown


def estimated_rows(engine: Engine) -> float:
    """What PostgreSQL's planner believes the outbox holds (-1: never analysed)."""
    with engine.connect() as connection:
        return float(
            connection.execute(
                text("SELECT reltuples FROM pg_class WHERE oid = 'outbox_message'::regclass")
            ).scalar_one()
        )


def outbox_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(OUTBOX)).scalar_one())


def add_rows(engine: Engine, n: int, start: int = 0) -> None:
    """``n`` queued outbox rows for one customer (their content does not matter here)."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        if start == 0:
            insert_customer(connection, "C-stat")
        connection.execute(
            insert(OUTBOX),
            [
                outbox_row(
                    customer_id="C-stat",
                    campaign="stat",
                    occasion=str(i),
                    channel="email",
                    topic="offers",
                    locale="en",
                    subject="s",
                    body_text="x",
                    status=MessageStatus.QUEUED,
                    send_at=now,
                    created_at=now,
                )
                for i in range(start, start + n)
            ],
        )


@pytest.fixture
def pg_engine(migrated_postgres_url: str) -> Any:
    from rapport.engine.core.db import make_engine

    engine = make_engine(migrated_postgres_url)
    yield engine
    engine.dispose()


def test_a_plan_that_grows_the_outbox_leaves_it_analysed_on_postgresql(
    pg_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings()
    seed_sample(pg_engine, settings, tmp_path, customers=60, data_seed=5)
    monkeypatch.setattr(statistics, "MIN_ROWS", 1)
    assert estimated_rows(pg_engine) <= 0  # a new database: nothing known

    report = plan_day(pg_engine, settings)

    assert report.inserted > 0
    assert estimated_rows(pg_engine) == outbox_rows(pg_engine)


def test_a_plan_adding_fewer_rows_than_the_minimum_analyses_nothing(
    pg_engine: Engine, tmp_path: Path
) -> None:
    settings = make_settings()
    seed_sample(pg_engine, settings, tmp_path, customers=60, data_seed=5)
    before = estimated_rows(pg_engine)

    report = plan_day(pg_engine, settings)

    assert 0 < report.inserted < statistics.MIN_ROWS
    assert estimated_rows(pg_engine) == before


def test_rows_within_a_tenth_of_the_analysed_table_leave_its_statistics_alone(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statistics, "MIN_ROWS", 1)
    add_rows(pg_engine, 200)
    assert analyze_if_grown(pg_engine, 200) is True  # never analysed: analysed now
    assert estimated_rows(pg_engine) == 200

    add_rows(pg_engine, 20, start=200)
    assert analyze_if_grown(pg_engine, 20) is False  # 10 % of 200: not yet
    assert estimated_rows(pg_engine) == 200

    add_rows(pg_engine, 30, start=220)
    assert analyze_if_grown(pg_engine, 30) is True  # more than 10 % of 200
    assert estimated_rows(pg_engine) == 250


def test_sqlite_is_never_analysed(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rapport.engine.core.db import make_engine

    monkeypatch.setattr(statistics, "MIN_ROWS", 1)
    path = tmp_path / "rapport.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    add_rows(engine, 5)

    assert analyze_if_grown(engine, 5) is False
    with engine.connect() as connection:  # ANALYZE would have made sqlite_stat1
        assert not connection.execute(
            text("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        ).all()
    engine.dispose()


def test_a_daemons_shared_planning_leaves_the_outbox_analysed_too(
    pg_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from factories import DAY, PLAN_AT, TEST_SECRET

    from rapport.consent.tokens import Signer
    from rapport.engine.campaigns.model import require_campaigns
    from rapport.engine.planning.shared import day_planner
    from rapport.engine.rendering.renderer import Renderer

    settings = make_settings()
    seed_sample(pg_engine, settings, tmp_path, customers=60, data_seed=5)
    monkeypatch.setattr(statistics, "MIN_ROWS", 1)
    renderer = Renderer(settings.templates_path, settings.locales.default)
    plan = day_planner(
        pg_engine, settings, renderer, Signer(TEST_SECRET), lambda: PLAN_AT, threading.Event()
    )

    report = plan(require_campaigns(settings), DAY, PLAN_AT, None)

    assert report.inserted > 0
    assert estimated_rows(pg_engine) == outbox_rows(pg_engine)
