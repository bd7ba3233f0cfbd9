"""A planning run on PostgreSQL reads each page's consent and message history with the
page, ahead of its planning (planning/audiences.page_reader): the planner must get the
same audiences as when it reads them itself, message history included."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from factories import DAY, PLAN_AT, make_settings, plan_day, seed_sample
from sqlalchemy import Engine

from rapport.engine.campaigns.model import require_campaigns
from rapport.engine.customers.profiles import iter_profile_batches
from rapport.engine.planning.audiences import audiences_for, page_reader
from rapport.engine.planning.planner import history_cutoff


def test_audiences_read_with_the_page_are_those_the_planner_reads_itself(
    engine: Engine, tmp_path: Path
) -> None:
    settings = make_settings()
    seed_sample(engine, settings, tmp_path, customers=60, data_seed=5)
    assert plan_day(engine, settings).inserted > 0  # a history to read the next day
    day, now = DAY + timedelta(days=1), PLAN_AT + timedelta(days=1)
    topics = {campaign.topic for campaign in require_campaigns(settings)}
    cutoff = history_cutoff(day, now)
    with engine.connect() as connection:
        plain = [
            audiences_for(connection, batch, day, topics=topics)
            for batch in iter_profile_batches(connection, settings, cutoff, 9)
        ]
        ahead = []
        for batch in iter_profile_batches(
            connection, settings, cutoff, 9, ahead=True, with_page=page_reader(day, topics)
        ):
            assert batch.read_with is not None
            ahead.append(audiences_for(connection, batch, day, topics=topics))
    assert ahead == plain
    assert any(audience.planned for audience in ahead)
    assert any(audience.recent for audience in ahead)
    assert any(audience.granted.values() for audience in ahead)
