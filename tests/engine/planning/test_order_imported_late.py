"""An order imported after its day was planned, earlier that same day than the order
that gave the occasion, does not make a second message.

A welcome (``after: first_order``) and a feedback request are keyed by the first order
of their day (``welcome:O2``, ``feedback:O2``). A shop's second sync brought an order
placed earlier that morning (a till's order, O1): the next plan of the day found the
occasion keyed ``welcome:O1``, not in the outbox, and queued a second "thank you for
your first order" with a second coupon (found with rapport import orders, rapport plan
twice). Several order lines of one day get one message (docs/campaigns.md), whenever
they were imported.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from factories import TEST_SECRET, insert_customer, run_rapport
from sqlalchemy import Engine, select

from rapport.consent.store import grant
from rapport.engine.core.models import OUTBOX

TRIGGERS = {
    "welcome": "{type: welcome, after: first_order, days_after: 3}",
    "feedback": "{type: feedback, days_after_order: 3}",
}
TOPICS = {"welcome": "offers", "feedback": "feedback"}
ORDERS = "id,customer_id,sku,quantity,amount,currency,ordered_at\n"


def project(tmp_path: Path, url: str, kind: str) -> None:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / f"{kind}.yaml").write_text(
        f"name: {kind}\ntrigger: {TRIGGERS[kind]}\ntopic: {TOPICS[kind]}\n"
        "channels: [email]\ntemplates: t\n"
        'send_window: {start: "00:00", end: "23:59"}\n',
        encoding="utf-8",
    )
    folder = tmp_path / "templates" / "t" / "en"
    folder.mkdir(parents=True)
    (folder / "email_subject.txt").write_text("Thank you\n", encoding="utf-8")
    (folder / "email.txt").write_text("Hi {{ links.preferences }}\n", encoding="utf-8")
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: '{url}'}}\nsecret_key: {TEST_SECRET}\n"
        "locales: {default: en, supported: [en]}\ncaps: {per_day: 5}\n",
        encoding="utf-8",
    )


@pytest.mark.parametrize("kind", ["welcome", "feedback"])
def test_an_earlier_order_of_the_same_day_imported_later_plans_no_second_message(
    engine: Engine, tmp_path: Path, migrated_url: str, kind: str
) -> None:
    project(tmp_path, migrated_url, kind)
    day = datetime.now(UTC).date()
    ordered = day - timedelta(days=3)
    insert_customer(engine, "W1", email="nora@example.com", locale="en", timezone="UTC")
    with engine.begin() as connection:
        grant(connection, "W1", "email", TOPICS[kind], source="test")
    (tmp_path / "first.csv").write_text(
        f"{ORDERS}O2,W1,SERUM,1,30.00,GBP,{ordered}T14:00:00Z\n", encoding="utf-8"
    )
    (tmp_path / "second.csv").write_text(
        f"{ORDERS}O1,W1,CLEANSER,1,17.60,GBP,{ordered}T09:00:00Z\n", encoding="utf-8"
    )

    for step in (
        ("import", "orders", "first.csv"),
        ("plan", "--json"),
        ("import", "orders", "second.csv"),
        ("plan", "--json"),
    ):
        ran = run_rapport(*step, cwd=tmp_path)
        assert ran.returncode == 0, ran.stderr

    with engine.connect() as connection:
        occasions = sorted(connection.execute(select(OUTBOX.c.occasion)).scalars())
    assert occasions == [f"{kind}:O2"]
    assert ran.stdout == ""  # the second plan wrote no message
