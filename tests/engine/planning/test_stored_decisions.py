"""A real plan stores why it decided what it did (engine/planning/decisions.py): every
decision but ``no_occasion`` and ``already_planned``, one row per (day, customer,
campaign); a later run of the day replaces a row only when it decided something else,
never a planned message's ``selected`` nor a ``lost_to_priority`` by ``cap_reached``;
retention deletes old days, by days and from the nightly job."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from factories import (
    DAY,
    PLAN_AT,
    TEST_SECRET,
    insert_customer,
    make_settings,
    plan_day,
    seed_sample,
)
from sqlalchemy import Engine, func, insert, select, update

from rapport.consent.store import grant
from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.models import CUSTOMER, OUTBOX, PLAN_DECISION, PLAN_RUN
from rapport.engine.planning.decisions import prune_decisions, stored_decisions
from rapport.engine.planning.plan import run_plan
from rapport.engine.planning.run import PlanReport
from rapport.engine.rendering.renderer import Renderer
from rapport.engine.runtime.daemon import Daemon

SETTINGS = make_settings()


def offer(cid: str, priority: int, cron: str | None = None) -> Campaign:
    """An offer to everyone with consent to offers, on ``DAY`` unless ``cron`` says."""
    return Campaign.model_validate(
        {
            "id": cid,
            "name": cid,
            "trigger": {"type": "recurring", "cron": cron or f"0 10 {DAY.day} {DAY.month} *"},
            "topic": "offers",
            "channels": ["email"],
            "templates": "holiday-offer",
            "send_window": {"start": "00:00", "end": "23:59"},
            "offer": {"discount_percent": 20},
            "priority": priority,
        }
    )


#: "first" wins the daily cap; "second" loses to it; "elsewhere" has no occasion today.
CAMPAIGNS = [offer("first", 10), offer("second", 20), offer("elsewhere", 30, "0 10 1 1 *")]


def customer(engine: Engine, cid: str, *, address: bool = True) -> None:
    """A customer with consent to offers by e-mail (and, unless not, an address)."""
    email = f"{cid.lower()}@example.com" if address else None
    insert_customer(engine, cid, email=email, locale="en", timezone="UTC")
    with engine.begin() as connection:
        grant(connection, cid, "email", "offers", source="test")


def give_address(engine: Engine, cid: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(CUSTOMER).where(CUSTOMER.c.id == cid).values(email=f"{cid.lower()}@example.com")
        )


def plan(
    engine: Engine, now: datetime = PLAN_AT, templates: Path | None = None, **options: Any
) -> PlanReport:
    return run_plan(
        engine,
        SETTINGS,
        CAMPAIGNS,
        DAY,
        now,
        renderer=Renderer(templates or SETTINGS.templates_path, SETTINGS.locales.default),
        signer=Signer(TEST_SECRET),
        **options,
    )


def stored(engine: Engine) -> dict[tuple[str, str], tuple[str, int]]:
    """(customer, campaign) -> (reason, plan run) of every stored decision of DAY."""
    with engine.connect() as connection:
        rows = connection.execute(select(PLAN_DECISION).where(PLAN_DECISION.c.day == DAY))
        return {(r.customer_id, r.campaign): (r.reason, r.plan_run) for r in rows}


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_real_plan_stores_every_decision_but_no_occasion(engine: Engine) -> None:
    customer(engine, "C1")
    customer(engine, "C2", address=False)
    report = plan(engine)
    rows = stored(engine)
    run = rows[("C1", "first")][1]
    assert rows == {
        ("C1", "first"): ("selected", run),
        ("C1", "second"): ("lost_to_priority", run),
        ("C2", "first"): ("no_address", run),
        ("C2", "second"): ("no_address", run),
    }
    assert report.decisions_stored == 4 and report.inserted == 1
    with engine.connect() as connection:
        found = stored_decisions(connection, ["C1"], DAY)["C1"]
        (started_at,) = connection.execute(select(PLAN_RUN.c.started_at)).scalars()
    assert started_at == PLAN_AT
    second = found["second"]
    assert second.detail.startswith("lost to first:") and second.planned_at == PLAN_AT
    assert count(engine, PLAN_RUN) == 1


def test_a_dry_run_stores_nothing(engine: Engine) -> None:
    customer(engine, "C1")
    report = plan(engine, dry_run=True)
    assert report.decisions_stored == 0
    assert count(engine, PLAN_DECISION) == 0 and count(engine, PLAN_RUN) == 0


def test_decision_days_zero_stores_no_decision_but_plans_as_before(engine: Engine) -> None:
    customer(engine, "C1")
    keep_none = make_settings(retention={"decision_days": 0})
    report = run_plan(
        engine,
        keep_none,
        CAMPAIGNS,
        DAY,
        PLAN_AT,
        renderer=Renderer(keep_none.templates_path, keep_none.locales.default),
        signer=Signer(TEST_SECRET),
    )
    assert report.inserted == 1 and report.decisions_stored == 0, report
    assert count(engine, PLAN_DECISION) == 0 and count(engine, PLAN_RUN) == 0


def test_a_later_run_of_the_day_keeps_what_decided_and_replaces_what_changed(
    engine: Engine,
) -> None:
    customer(engine, "C1")
    customer(engine, "C2", address=False)
    plan(engine)
    before = stored(engine)
    give_address(engine, "C2")
    later = PLAN_AT + timedelta(hours=1)
    report = plan(engine, now=later)
    after = stored(engine)
    # C1: "first" is already planned now (not stored again) and "second" meets the cap
    # that "first" filled: both rows stay as the first run wrote them.
    assert after[("C1", "first")] == before[("C1", "first")]
    assert after[("C1", "second")] == before[("C1", "second")]
    # C2 has an address now: the later run decided otherwise, and its decisions replace them.
    run = after[("C2", "first")][1]
    assert run != before[("C2", "first")][1]
    assert after[("C2", "first")] == ("selected", run)
    assert after[("C2", "second")] == ("lost_to_priority", run)
    assert len(after) == 4 and count(engine, PLAN_RUN) == 2
    # Sent: C1's "second" (cap_reached, kept) and C2's two; C1's "first" is not.
    assert report.decisions_stored == 3
    # A third run deciding the same again changes nothing and names no new run.
    plan(engine, now=later + timedelta(hours=1))
    assert stored(engine) == after


def test_a_tick_that_decides_nothing_storable_leaves_no_run(engine: Engine) -> None:
    customer(engine, "C1")
    plan(engine)
    with engine.begin() as connection:
        connection.execute(PLAN_DECISION.delete())
        connection.execute(PLAN_RUN.delete())
    # Everything C1 could get is in the outbox or capped; the cap row is new here.
    report = plan(engine, now=PLAN_AT + timedelta(hours=1))
    assert stored(engine) == {
        ("C1", "second"): ("cap_reached", stored(engine)[("C1", "second")][1])
    }
    assert report.decisions_stored == 1


def test_a_template_that_fails_is_stored_as_render_error_without_its_text(
    engine: Engine, tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(SETTINGS.templates_path, templates)
    subject = templates / "holiday-offer" / "en" / "email_subject.txt"
    subject.write_text("Offer {{ {}[customer.full_name] }}", encoding="utf-8")
    insert_customer(engine, "C1", email="c1@example.com", locale="en", last_name="Secretname")
    with engine.begin() as connection:
        grant(connection, "C1", "email", "offers", source="test")
    report = plan(engine, templates=templates)
    assert report.inserted == 0 and len(report.render_errors) == 1
    with engine.connect() as connection:
        found = stored_decisions(connection, ["C1"], DAY)["C1"]
    # The planner chose "first" before it was rendered: "second" lost to it all the same.
    assert {c: d.reason for c, d in found.items()} == {
        "first": "render_error",
        "second": "lost_to_priority",
    }
    assert "email_subject.txt:1" in found["first"].detail
    assert "Secretname" not in found["first"].detail


def test_a_template_error_quoting_a_name_with_a_colon_keeps_the_name_out(
    engine: Engine, tmp_path: Path
) -> None:
    # The error's text was cut at its last ": ", so a name holding one was kept.
    templates = tmp_path / "templates"
    shutil.copytree(SETTINGS.templates_path, templates)
    subject = templates / "holiday-offer" / "en" / "email_subject.txt"
    subject.write_text("Offer {{ {}[customer.full_name] }}", encoding="utf-8")
    insert_customer(engine, "C1", email="c1@example.com", locale="en", last_name="Secret: name")
    with engine.begin() as connection:
        grant(connection, "C1", "email", "offers", source="test")
    report = plan(engine, templates=templates)
    with engine.connect() as connection:
        found = stored_decisions(connection, ["C1"], DAY)["C1"]
    assert found["first"].detail.endswith("email_subject.txt:1: UndefinedError")
    assert "email_subject.txt:1: UndefinedError for customer C1;" in report.render_errors[0]
    assert "Secret" not in report.render_errors[0]


def old_decisions(engine: Engine, days: list[date], customers: int) -> None:
    with engine.begin() as connection:
        for day in days:
            run = connection.execute(
                insert(PLAN_RUN).values(
                    day=day, started_at=datetime(2026, 1, 1, tzinfo=UTC) + (day - DAY)
                )
            ).inserted_primary_key[0]
            connection.execute(
                insert(PLAN_DECISION),
                [
                    {
                        "day": day,
                        "customer_id": f"C{n:03d}",
                        "campaign": campaign,
                        "reason": "no_consent",
                        "detail": "email: no consent for offers",
                        "variant": None,
                        "plan_run": run,
                    }
                    for n in range(customers)
                    for campaign in ("first", "second")
                ],
            )


def test_pruning_deletes_the_days_older_than_the_setting_in_batches(engine: Engine) -> None:
    days = [DAY - timedelta(days=n) for n in (40, 31, 30, 1)]
    old_decisions(engine, days, customers=7)
    report = prune_decisions(engine, days=30, today=DAY, batch_size=3)
    assert report.deleted == 2 * 7 * 2 and report.runs == 2
    # 14 rows a day (7 customers, 2 campaigns), 3 rows at a time rounded up to whole
    # customers (4 rows): 4 batches a day, two days.
    assert report.batches == 8
    with engine.connect() as connection:
        left = set(connection.execute(select(PLAN_DECISION.c.day).distinct()).scalars())
        runs = set(connection.execute(select(PLAN_RUN.c.day)).scalars())
    assert left == runs == {DAY - timedelta(days=30), DAY - timedelta(days=1)}
    assert prune_decisions(engine, days=30, today=DAY).deleted == 0


def test_the_nightly_retention_job_prunes_decisions_by_the_setting(
    engine: Engine, tmp_path: Path
) -> None:
    old_decisions(engine, [DAY - timedelta(days=n) for n in (11, 9)], customers=2)
    settings = make_settings(base_dir=tmp_path, retention={"decision_days": 10})
    now = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=3)
    daemon = Daemon(settings, engine, clock=lambda: now)
    try:
        assert daemon.prune_tick() is not None
    finally:
        daemon.stop(grace=0)
    with engine.connect() as connection:
        left = set(connection.execute(select(PLAN_DECISION.c.day).distinct()).scalars())
    assert left == {DAY - timedelta(days=9)}


def test_a_run_shared_between_processes_stores_one_run_and_the_same_decisions(
    engine: Engine, tmp_path: Path
) -> None:
    """Worker processes find the run their parent made (or make it first) by its day
    and time: one plan_run, and the decisions one process stores."""
    seed_sample(engine, make_settings(), tmp_path, customers=60, data_seed=5)
    stores = []
    for workers in (3, 1):
        with engine.begin() as connection:
            for table in (PLAN_DECISION, PLAN_RUN, OUTBOX):
                connection.execute(table.delete())
        settings = make_settings(
            planning={"workers": workers, "min_customers_per_worker": 1, "batch_size": 20}
        )
        report = plan_day(engine, settings)
        assert count(engine, PLAN_RUN) == 1
        assert report.decisions_stored == count(engine, PLAN_DECISION) > 0
        with engine.connect() as connection:
            columns = [c for c in PLAN_DECISION.c if c.name != "plan_run"]
            stores.append(set(connection.execute(select(*columns))))
    assert stores[0] == stores[1]
