"""What a real plan decided about a customer is data about them: the access request's
export lists it, and erasure removes it.

``plan_decision`` holds, per planning day and campaign, the outcome of profiling the
customer: the reason (stage, tier, segment, no consent, selected) and a detail that
can quote their birthday ("birthday on 2026-11-26 via email") or their age ("age is
34"). GDPR Art. 15 covers such outcomes, so ``export_customer`` lists the stored
decisions with the run's time; an erased customer keeps none (``erase_customer``
deletes them: ``rapport explain`` recomputes, and an erased customer is planned nothing).
Maryam (FA1) was born on 1991-11-26, the planning day of the seed, so her birthday
message is planned and its decision stored.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from factories import plan_day
from sqlalchemy import Engine, func, select

from rapport.consent.privacy import erase_customer, export_customer
from rapport.engine.core.models import PLAN_DECISION
from tests.consent.test_export_and_erasure import seed, settings

ALEX_BIRTHDAY = date(2027, 7, 4)

ERASED_AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def stored_decisions(engine: Engine, customer_id: str) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.count())
            .select_from(PLAN_DECISION)
            .where(PLAN_DECISION.c.customer_id == customer_id)
        ).scalar_one()


def seed_with_alex(engine: Engine, tmp_path: Path) -> None:
    """The seed, and a plan of Alex's (EN1) birthday: decisions about someone else."""
    seed(engine, tmp_path)
    at = datetime(2027, 7, 3, 12, 0, tzinfo=UTC)
    plan_day(engine, settings(), day=ALEX_BIRTHDAY, plan_at=at + timedelta(hours=1))
    assert stored_decisions(engine, "EN1") >= 1


def test_export_lists_the_decisions_a_plan_stored_about_the_customer(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine, tmp_path)
    stored = stored_decisions(engine, "FA1")
    assert stored >= 1

    with engine.connect() as connection:
        data = export_customer(connection, "FA1", now=ERASED_AT)

    decisions = data["decisions"]
    assert len(decisions) == stored
    birthday = next(d for d in decisions if d["campaign"] == "birthday")
    assert birthday["reason"] == "selected" and birthday["day"] == "2026-11-26"
    assert birthday["detail"] == "birthday on 2026-11-26 via email"
    assert birthday["planned_at"].endswith("Z")
    assert all(
        set(d) == {"day", "campaign", "reason", "detail", "variant", "planned_at"}
        for d in decisions
    )


def test_export_lists_no_decision_about_someone_else(engine: Engine, tmp_path: Path) -> None:
    seed_with_alex(engine, tmp_path)

    with engine.connect() as connection:
        data = export_customer(connection, "FA1", now=ERASED_AT)

    assert data["decisions"] and all("EN1" not in str(d) for d in data["decisions"])
    assert len(data["decisions"]) == stored_decisions(engine, "FA1")


def test_erasure_deletes_the_customers_stored_decisions_and_keeps_the_others(
    engine: Engine, tmp_path: Path
) -> None:
    seed_with_alex(engine, tmp_path)
    others = stored_decisions(engine, "EN1")

    with engine.begin() as connection:
        report = erase_customer(connection, "FA1", ERASED_AT)

    assert stored_decisions(engine, "FA1") == 0
    assert stored_decisions(engine, "EN1") == others
    assert report.decisions_deleted >= 1
    with engine.connect() as connection:
        assert export_customer(connection, "FA1", now=ERASED_AT)["decisions"] == []
