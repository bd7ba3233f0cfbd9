"""A campaign's frequency.min_days_between holds however long it is: planning read the
outbox of the last 90 days only, so a campaign with min_days_between: 180 messaged a
customer again 120 days after the last message (docs/campaigns.md: at least this many
days between two messages of this campaign to one customer)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from factories import TEST_SECRET, insert_customer, run_rapport
from sqlalchemy import Engine

from rapport.consent.store import grant
from rapport.engine.core.models import OUTBOX

CAMPAIGN = """name: Daily
trigger: {type: recurring, cron: "0 10 * * *"}
topic: offers
channels: [email]
templates: t
send_window: {start: "00:00", end: "23:59"}
frequency: {min_days_between: 180}
"""


def test_min_days_between_longer_than_ninety_days_holds(
    engine: Engine, tmp_path: Path, migrated_url: str
) -> None:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "daily.yaml").write_text(CAMPAIGN, encoding="utf-8")
    folder = tmp_path / "templates" / "t" / "en"
    folder.mkdir(parents=True)
    (folder / "email_subject.txt").write_text("Hello\n", encoding="utf-8")
    (folder / "email.txt").write_text("Hi {{ links.preferences }}\n", encoding="utf-8")
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: '{migrated_url}'}}\nsecret_key: {TEST_SECRET}\n"
        "locales: {default: en, supported: [en]}\n",
        encoding="utf-8",
    )
    day = datetime.now(UTC).date() + timedelta(days=1)
    for customer_id, days_ago in (("RECENT", 120), ("LONG-AGO", 200)):
        insert_customer(
            engine,
            customer_id,
            email=f"{customer_id.lower()}@example.com",
            locale="en",
            timezone="UTC",
        )
        sent = datetime.combine(day - timedelta(days=days_ago), datetime.min.time(), UTC)
        with engine.begin() as connection:
            grant(connection, customer_id, "email", "offers", source="test")
            connection.execute(
                OUTBOX.insert().values(
                    idempotency_key=f"{customer_id}:daily:old:email",
                    customer_id=customer_id,
                    campaign="daily",
                    occasion="old",
                    channel="email",
                    topic="offers",
                    locale="en",
                    body_text="Hi",
                    status="sent",
                    send_at=sent,
                    sent_at=sent,
                    created_at=sent,
                )
            )

    ran = run_rapport("plan", "--dry-run", "--json", "--date", day.isoformat(), cwd=tmp_path)

    assert ran.returncode == 0, ran.stderr
    planned = [json.loads(line)["customer_id"] for line in ran.stdout.splitlines()]
    assert planned == ["LONG-AGO"]


def test_a_min_days_between_of_any_size_is_planned_without_an_error(
    engine: Engine, tmp_path: Path, migrated_url: str
) -> None:
    """The history read reaches back at most a century: 99999999999 days overflowed."""
    (tmp_path / "campaigns").mkdir()
    text = CAMPAIGN.replace("min_days_between: 180", "min_days_between: 99999999999")
    (tmp_path / "campaigns" / "daily.yaml").write_text(text, encoding="utf-8")
    folder = tmp_path / "templates" / "t" / "en"
    folder.mkdir(parents=True)
    (folder / "email_subject.txt").write_text("Hello\n", encoding="utf-8")
    (folder / "email.txt").write_text("Hi {{ links.preferences }}\n", encoding="utf-8")
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: '{migrated_url}'}}\nsecret_key: {TEST_SECRET}\n"
        "locales: {default: en, supported: [en]}\n",
        encoding="utf-8",
    )

    insert_customer(engine, "ANY", email="any@example.com", locale="en", timezone="UTC")
    with engine.begin() as connection:
        grant(connection, "ANY", "email", "offers", source="test")

    ran = run_rapport("plan", "--dry-run", "--json", cwd=tmp_path)

    assert ran.returncode == 0, ran.stderr
    assert [json.loads(line)["customer_id"] for line in ran.stdout.splitlines()] == ["ANY"]
