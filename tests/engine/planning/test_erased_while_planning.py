"""An erasure that commits while planning works on a batch leaves nothing of the person.

Planning reads a batch of customers, renders their messages (seconds for a large
batch), then writes them. An erasure committing in between found no message to
blank, and the batch then wrote one greeting her by name, with her address's links:
`rapport customers erase` had reported her gone, and a live outbox row held her name
until retention pruned it 90 days later (found by the sequence tester: 36 of 207
customers erased during a 20,000-customer `rapport plan` on PostgreSQL, 19 on SQLite).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from factories import DAY, PLAN_AT, TEST_SECRET, insert_customer, make_settings
from sqlalchemy import Engine, select

from rapport.consent.privacy import erase_customer
from rapport.consent.store import grant
from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.models import OUTBOX, PLAN_DECISION
from rapport.engine.planning.run import PlanReport, plan_range
from rapport.engine.rendering.renderer import Renderer

NAME = "Perpetua"


def _plan_erasing_c2(engine: Engine, tmp_path: Path) -> PlanReport:
    folder = tmp_path / "templates" / "promo" / "en"
    folder.mkdir(parents=True)
    (folder / "email_subject.txt").write_text("For {{ customer.first_name }}\n", encoding="utf-8")
    (folder / "email.txt").write_text("Dear {{ customer.first_name }}\n", encoding="utf-8")
    for customer_id in ("C1", "C2"):
        insert_customer(
            engine, customer_id, first_name=NAME, email=f"{customer_id}@example.com", locale="en"
        )
        with engine.begin() as connection:
            grant(connection, customer_id, "email", "offers", source="test")
    campaign = Campaign.model_validate(
        {
            "id": "promo",
            "name": "promo",
            "trigger": {"type": "recurring", "cron": f"0 10 {DAY.day} {DAY.month} *"},
            "topic": "offers",
            "channels": ["email"],
            "templates": "promo",
            "send_window": {"start": "00:00", "end": "23:59"},
        }
    )
    settings = make_settings(base_dir=tmp_path, locales={"supported": ["en"], "default": "en"})

    def erase_c2() -> None:  # after the batch is read and rendered, before it is written
        with engine.begin() as connection:
            erase_customer(connection, "C2", datetime.now(UTC))

    return plan_range(
        engine,
        settings,
        [campaign],
        DAY,
        PLAN_AT,
        renderer=Renderer(settings.templates_path, "en"),
        signer=Signer(TEST_SECRET),
        before_write=erase_c2,
    )


def test_an_erasure_committed_while_a_batch_is_planned_leaves_no_message_of_hers(
    engine: Engine, tmp_path: Path
) -> None:
    report = _plan_erasing_c2(engine, tmp_path)

    with engine.connect() as connection:
        rows = connection.execute(
            select(OUTBOX.c.customer_id, OUTBOX.c.status, OUTBOX.c.subject, OUTBOX.c.body_text)
        ).all()
    assert [(r.customer_id, r.status, r.subject) for r in rows] == [("C1", "queued", f"For {NAME}")]
    assert report.inserted == 1


def test_an_erasure_committed_while_a_batch_is_planned_leaves_no_decision_about_her(
    engine: Engine, tmp_path: Path
) -> None:
    """Erasure deletes what plans decided about her (f0bbec0): a batch read before it
    committed must not write its decisions about her after."""
    _plan_erasing_c2(engine, tmp_path)

    with engine.connect() as connection:
        decided = connection.execute(select(PLAN_DECISION.c.customer_id)).scalars().all()
    assert decided == ["C1"]
