"""Planning shared by daemons on PostgreSQL: a day's shards, their leases, their runs.

In one process, on PostgreSQL (SQLite never shards); three real daemons and a SIGKILL
are in tests/engine/runtime/test_shared_planning.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from factories import REPO, TEST_SECRET, make_settings, seed_birthdays
from sqlalchemy import Engine, func, select

from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import require_campaigns
from rapport.engine.core.config import Settings
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import OUTBOX, PLAN_DECISION, PLAN_RUN, PLAN_SHARD
from rapport.engine.planning import shard_leases, shared
from rapport.engine.planning.plan import run_plan
from rapport.engine.planning.shard_leases import claim, finish, make_shards, renew
from rapport.engine.planning.shared import ShardPlanner
from rapport.engine.rendering.renderer import Renderer

DAY = date(2026, 12, 7)
NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
LEASE = timedelta(seconds=60)
#: A replan_before that finds no done shard due.
NEVER = NOW - timedelta(days=1)


@pytest.fixture
def pg(migrated_postgres_url: str) -> Iterator[Engine]:
    db = make_engine(migrated_postgres_url)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The birthday campaign alone, shards of 100 customers planned 25 at a time."""
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    shutil.copy(REPO / "campaigns" / "birthday.yaml", campaigns)
    return make_settings(
        campaigns_dir=campaigns,
        planning={"shard_size": 100, "batch_size": 25, "shard_lease_seconds": 60, "workers": 1},
    )


def shards(engine: Engine) -> list[tuple[int, str | None, str | None, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(PLAN_SHARD.c.shard, PLAN_SHARD.c.lo, PLAN_SHARD.c.hi, PLAN_SHARD.c.status)
            .where(PLAN_SHARD.c.day == DAY)
            .order_by(PLAN_SHARD.c.shard)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def planner(engine: Engine, settings: Settings, owner: str, **changes) -> ShardPlanner:  # type: ignore[no-untyped-def]
    options = {"clock": lambda: NOW, "stop": lambda: False, **changes}
    return ShardPlanner(
        engine,
        settings,
        renderer=Renderer(settings.templates_path, settings.locales.default),
        signer=Signer(TEST_SECRET),
        owner=owner,
        **options,
    )


def outbox_keys(engine: Engine) -> list[tuple[str, str, str, str]]:
    columns = [OUTBOX.c[name] for name in ("customer_id", "campaign", "occasion", "channel")]
    with engine.connect() as connection:
        return sorted(tuple(row) for row in connection.execute(select(*columns)))  # type: ignore[misc]


def test_a_day_is_cut_once_into_ranges_that_cover_every_customer(pg: Engine) -> None:
    seed_birthdays(pg, 250, DAY)
    with pg.begin() as connection:
        assert make_shards(connection, DAY, 100) == 3
    with pg.begin() as connection:  # another daemon, another size: the first cut stays
        assert make_shards(connection, DAY, 1000) == 3
    assert shards(pg) == [
        (0, None, "C0099", "queued"),
        (1, "C0099", "C0199", "queued"),
        (2, "C0199", None, "queued"),
    ]


def test_claims_take_different_shards_and_never_one_under_a_live_lease(pg: Engine) -> None:
    seed_birthdays(pg, 150, DAY)
    with pg.begin() as connection:
        make_shards(connection, DAY, 100)
        first = claim(connection, DAY, "a", NOW, LEASE, NEVER)
        second = claim(connection, DAY, "b", NOW, LEASE, NEVER)
        third = claim(connection, DAY, "c", NOW + LEASE - timedelta(seconds=1), LEASE, NEVER)
    assert first is not None and second is not None
    assert (first.index, second.index, third) == (0, 1, None)


def test_an_expired_lease_is_claimed_again_and_its_old_holder_may_not_renew_or_finish(
    pg: Engine,
) -> None:
    seed_birthdays(pg, 50, DAY)
    later = NOW + LEASE + timedelta(seconds=1)
    with pg.begin() as connection:
        make_shards(connection, DAY, 100)
        dead = claim(connection, DAY, "a", NOW, LEASE, NEVER)
        taker = claim(connection, DAY, "b", later, LEASE, NEVER)
        assert dead is not None and taker is not None and taker.index == dead.index
        assert taker.attempts == 2
        assert not renew(connection, dead, later, LEASE)
        assert not finish(connection, dead, NOW, later)
        assert renew(connection, taker, later, LEASE)
        assert finish(connection, taker, later, later)
    assert shards(pg) == [(0, None, None, "done")]


def test_a_done_shard_is_due_again_once_its_run_is_older_than_the_threshold(
    pg: Engine,
) -> None:
    seed_birthdays(pg, 50, DAY)
    with pg.begin() as connection:
        make_shards(connection, DAY, 100)
        held = claim(connection, DAY, "a", NOW, LEASE, NEVER)
        assert held is not None and finish(connection, held, NOW, NOW)
        assert claim(connection, DAY, "b", NOW, LEASE, NOW - timedelta(seconds=1)) is None
        again = claim(connection, DAY, "b", NOW, LEASE, NOW)
    assert again is not None and again.attempts == 2


def test_a_day_planned_in_shards_fills_the_outbox_as_one_process_does(
    pg: Engine, settings: Settings
) -> None:
    seed_birthdays(pg, 230, DAY)
    campaigns = require_campaigns(settings)
    report = planner(pg, settings, "a").plan(campaigns, DAY, NOW)
    sharded = outbox_keys(pg)
    assert report.inserted == len(sharded) == 230
    assert [status for *_, status in shards(pg)] == ["done"] * 3
    with pg.begin() as connection:
        for table in (PLAN_DECISION, PLAN_RUN, OUTBOX):
            connection.execute(table.delete())
    renderer = Renderer(settings.templates_path, settings.locales.default)
    run_plan(pg, settings, campaigns, DAY, NOW, renderer=renderer, signer=Signer(TEST_SECRET))
    assert outbox_keys(pg) == sharded


def test_a_second_daemon_finds_nothing_due_and_plans_nothing_again(
    pg: Engine, settings: Settings
) -> None:
    seed_birthdays(pg, 120, DAY)
    campaigns = require_campaigns(settings)
    planner(pg, settings, "a").plan(campaigns, DAY, NOW)
    report = planner(pg, settings, "b").plan(campaigns, DAY, NOW + timedelta(seconds=5))
    assert (report.candidates, report.inserted) == (0, 0)


def test_a_stop_between_batches_releases_the_shard_unfinished(
    pg: Engine, settings: Settings
) -> None:
    seed_birthdays(pg, 100, DAY)
    asked: list[bool] = []

    def stop() -> bool:  # asked before the claim, then before each batch's write
        asked.append(True)
        return len(asked) > 2

    planner(pg, settings, "a", stop=stop).plan(require_campaigns(settings), DAY, NOW)
    assert shards(pg) == [(0, None, None, "queued")]
    with pg.connect() as connection:
        assert connection.execute(select(func.count()).select_from(OUTBOX)).scalar_one() == 25


def test_a_lease_lost_mid_shard_ends_the_shard_and_leaves_it_to_its_new_holder(
    pg: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_birthdays(pg, 100, DAY)
    renewals: list[bool] = []
    real_renew = shard_leases.renew

    def renew_then_lose(connection, shard, now, lease):  # type: ignore[no-untyped-def]
        if renewals:  # before the second batch's write, another daemon took over
            connection.execute(PLAN_SHARD.update().values(owner="b", attempts=9))
        renewals.append(True)
        return real_renew(connection, shard, now, lease)

    monkeypatch.setattr(shard_leases, "renew", renew_then_lose)
    report = planner(pg, settings, "a").plan(require_campaigns(settings), DAY, NOW)
    assert report.inserted == 0  # the part it planned is not counted as its own
    assert shards(pg) == [(0, None, None, "running")]
    assert len(outbox_keys(pg)) == 25


def test_a_day_of_many_due_shards_is_planned_by_worker_processes_each_customer_once(
    pg: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_birthdays(pg, 300, DAY)
    pools: list[int] = []
    real_pool = shared.shards.pool

    def counted_pool(processes: int):  # type: ignore[no-untyped-def]
        pools.append(processes)
        return real_pool(processes)

    monkeypatch.setattr(shared.shards, "pool", counted_pool)
    two = settings.model_copy(
        update={"planning": settings.planning.model_copy(update={"workers": 2})}
    )
    report = planner(pg, two, "a", clock=lambda: datetime.now(UTC)).plan(
        require_campaigns(two), DAY, NOW
    )
    assert pools == [2]
    assert report.inserted == len(outbox_keys(pg)) == 300
    assert [status for *_, status in shards(pg)] == ["done"] * 3


def test_a_shard_is_not_claimed_while_its_customers_are_planned_for_another_day(
    pg: Engine,
) -> None:
    """Caps over several days see every message planned before, as with one planner."""
    seed_birthdays(pg, 150, DAY)
    tomorrow = DAY + timedelta(days=1)
    with pg.begin() as connection:
        make_shards(connection, DAY, 100)  # (None, C0099], (C0099, None)
        make_shards(connection, tomorrow, 1000)  # (None, None)
        today = claim(connection, DAY, "a", NOW, LEASE, NEVER)
        assert claim(connection, tomorrow, "b", NOW, LEASE, NEVER) is None
        assert today is not None and finish(connection, today, NOW, NOW)
        later = claim(connection, tomorrow, "b", NOW, LEASE, NEVER)  # shard 1: not running
        assert claim(connection, DAY, "a", NOW, LEASE, NEVER) is None
        expired = claim(connection, DAY, "c", NOW + 2 * LEASE, LEASE, NEVER)
    assert later is not None and later.index == 0
    assert expired is not None and expired.index == 1
