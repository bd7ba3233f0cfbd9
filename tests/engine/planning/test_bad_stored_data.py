"""One customer's bad stored data never stops planning for the others (red team 2b,
3b): values stored before the import checked them (inserted here straight into the
tables) are a render error of that customer's message, or read on a day a little off
with a warning naming the customer, and every command and admin page showing the
customer still answers. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from factories import REPO, TEST_SECRET, insert_customer, run_rapport
from sqlalchemy import Engine, insert, select
from starlette.testclient import TestClient

from rapport.consent.store import grant
from rapport.engine.core import timeutil
from rapport.engine.core.config import Settings, WebConfig
from rapport.engine.core.models import CUSTOMER, CUSTOMER_EVENT, ORDERS, OUTBOX
from rapport.engine.web.app import create_app

CAMPAIGN = """\
name: How did your delivery go?
trigger: {type: event, name: order_shipped, delay: 2d}
topic: feedback
channels: [email]
templates: feedback
send_window: {start: "00:00", end: "23:59"}
"""
YEAR_1 = datetime(1, 1, 1, tzinfo=UTC)


def test_a_customer_s_bad_stored_data_fails_their_message_and_the_others_are_planned(
    tmp_path: Path, migrated_url: str, engine: Engine
) -> None:
    """C1 signed up and ordered in year 1 and lives behind UTC (their local day of it
    overflowed Python's dates: every plan, explain and report stopped); C2's event data
    holds a NUL (stored as JSON's escape, as events were before the API refused it),
    which the rendered message carried into the outbox: PostgreSQL refused the whole
    batch's write. C3 is fine."""
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates" / "_partials", templates / "_partials")
    shutil.copytree(REPO / "templates" / "feedback", templates / "feedback")
    text = templates / "feedback" / "en" / "email.txt"
    text.write_text("Carrier: {{ occasion.event.data.carrier }}\n" + text.read_text("utf-8"))
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    (campaigns / "delivery.yaml").write_text(CAMPAIGN, encoding="utf-8")
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: '{migrated_url}'}}\n"
        f"campaigns_dir: {campaigns}\ntemplates_dir: {templates}\n",
        encoding="utf-8",
    )
    today = datetime.now(UTC).date()
    shipped = datetime.combine(today, time(12), tzinfo=UTC)
    insert_customer(
        engine, "C1", email="c1@example.com", locale="en", timezone="America/Los_Angeles"
    )
    for cid in ("C1", "C2", "C3"):
        if cid != "C1":
            insert_customer(engine, cid, email=f"{cid.lower()}@example.com", locale="en")
        with engine.begin() as connection:
            grant(connection, cid, "email", "feedback", source="test")
    carriers = {"C1": "DHL", "C2": "x\x00y", "C3": "DHL"}
    with engine.begin() as connection:
        connection.execute(
            CUSTOMER_EVENT.insert(),
            [
                {
                    "customer_id": cid,
                    "name": "order_shipped",
                    "event_key": "S-1",
                    "occurred_at": shipped,
                    "data": json.dumps({"carrier": carrier}),
                    "recorded_at": shipped,
                }
                for cid, carrier in carriers.items()
            ],
        )
        connection.execute(
            insert(ORDERS).values(
                id="O1",
                customer_id="C1",
                sku="TEA",
                quantity=1,
                amount=1,
                currency="EUR",
                ordered_at=YEAR_1,
            )
        )
        connection.execute(CUSTOMER.update().where(CUSTOMER.c.id == "C1").values(created_at=YEAR_1))
    day = (today + timedelta(days=2)).isoformat()
    env = {"RAPPORT_SECRET_KEY": TEST_SECRET}

    timeutil._WARNED.clear()  # once a process, and the commands run in this one
    planned = run_rapport("plan", "--date", day, cwd=tmp_path, env=env)
    assert planned.returncode == 1, planned.stderr  # a render error, the others planned
    with engine.connect() as connection:
        messaged = set(connection.execute(select(OUTBOX.c.customer_id)).scalars())
    assert messaged == {"C1", "C3"}
    assert "InvalidOutput for customer C2" in planned.stdout + planned.stderr
    assert "x\x00y" not in planned.stdout + planned.stderr
    (warned,) = [line for line in planned.stderr.splitlines() if "out of range" in line]
    assert '"customer_id": "C1"' in warned and "ordered_at" in warned
    preview = run_rapport(
        "preview", "delivery", "--customer", "C2", "--date", day, cwd=tmp_path, env=env
    )
    assert "the output contains a NUL character" in preview.stderr
    for command in (
        ("explain", "C1", "--date", day),
        ("preview", "delivery", "--customer", "C1", "--date", day),
        ("report",),
    ):
        shown = run_rapport(*command, cwd=tmp_path, env=env)
        assert shown.returncode == 0, (command, shown.stderr)
    settings = Settings(
        base_dir=tmp_path,
        secret_key=TEST_SECRET,
        campaigns_dir=campaigns,
        templates_dir=templates,
        web=WebConfig(report_token="admin"),
    )
    with TestClient(create_app(settings, engine)) as client:
        for path in (f"/admin/campaigns/delivery?customer=C1&date={day}", "/admin/report"):
            page = client.get(path, headers={"Authorization": "Bearer admin"})
            assert page.status_code == 200, (path, page.text)


def test_a_batch_the_database_refuses_names_the_customers_and_none_of_the_data(
    engine: Engine,
) -> None:
    """The last resort behind the renderer's check: a row the database refuses (here a
    message for a customer it does not know; on PostgreSQL also a NUL in a body) stops
    the batch with an error naming that customer, never the driver's error, which
    quotes the row ("Failing row contains (..., Hi Ada, ...)")."""
    from rapport.engine.core.models import MessageStatus
    from rapport.engine.delivery.outbox import outbox_row
    from rapport.engine.planning.run import write_batch
    from rapport.engine.planning.write_errors import BatchWriteError

    insert_customer(engine, "C1", email="c1@example.com")
    insert_customer(engine, "C2", email="c2@example.com")
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)

    def row(cid: str, body: str = "Hi Ada") -> dict[str, object]:
        return outbox_row(
            customer_id=cid,
            campaign="delivery",
            occasion="event:order_shipped:2026-12-06",
            channel="email",
            topic="feedback",
            locale="en",
            status=MessageStatus.QUEUED,
            send_at=now,
            created_at=now,
            subject="Hello",
            body_text=body,
        )

    bad = [row("C1"), row("GHOST")]
    if engine.dialect.name == "postgresql":
        bad.append(row("C2", "Hi Ada\x00"))
    with pytest.raises(BatchWriteError) as raised:
        write_batch(engine, bad)
    error = raised.value
    assert error.customer_ids == (["GHOST", "C2"] if len(bad) == 3 else ["GHOST"])
    assert error.__cause__ is None and error.__suppress_context__
    assert "Hi Ada" not in str(error) and "customer(s) GHOST" in str(error)
    with engine.connect() as connection:
        assert list(connection.execute(select(OUTBOX.c.customer_id))) == []
    assert write_batch(engine, [row("C1")]) == 1
