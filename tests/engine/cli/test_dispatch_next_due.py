"""``rapport dispatch --once`` with nothing due says when the next queued message is.

A newcomer plans tomorrow and dispatches: "nothing due" alone reads as if the plan
were lost. When messages of a configured channel are queued for later, the line names
the earliest one's time (UTC); with none queued it stays "dispatch: nothing due".
Run against SQLite and PostgreSQL (``migrated_url``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from factories import insert_customer, run_rapport
from sqlalchemy import insert

from rapport.engine.core.db import make_engine
from rapport.engine.core.models import OUTBOX, MessageStatus
from rapport.engine.delivery.outbox import outbox_row


def queue(url: str, *send_ats: datetime, channel: str = "email") -> None:
    engine = make_engine(url)
    now = datetime.now(UTC)
    insert_customer(engine, "C1", locale="fa_IR", timezone="Asia/Tehran", email="c1@example.com")
    with engine.begin() as connection:
        for n, send_at in enumerate(send_ats):
            connection.execute(
                insert(OUTBOX),
                [
                    outbox_row(
                        customer_id="C1",
                        campaign="birthday",
                        occasion=f"o{n}",
                        channel=channel,
                        topic="birthday",
                        locale="fa_IR",
                        subject="s",
                        body_text="t",
                        status=MessageStatus.QUEUED,
                        send_at=send_at,
                        created_at=now,
                    )
                ],
            )
    engine.dispose()


def dispatch_once(tmp_path: Path, url: str) -> str:
    ran = run_rapport("dispatch", "--once", cwd=tmp_path, env={"RAPPORT_DATABASE_URL": url})
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


def test_nothing_due_names_the_time_of_the_next_queued_message(
    tmp_path: Path, migrated_url: str
) -> None:
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=20)
    queue(migrated_url, later + timedelta(hours=3), later)

    printed = dispatch_once(tmp_path, migrated_url)

    assert printed == (
        "dispatch: nothing due now; the next queued message is due at "
        f"{later.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
    )


def test_nothing_due_and_nothing_queued_says_only_nothing_due(
    tmp_path: Path, migrated_url: str
) -> None:
    assert dispatch_once(tmp_path, migrated_url) == "dispatch: nothing due\n"


def test_a_message_of_a_channel_not_configured_here_is_not_named_as_next(
    tmp_path: Path, migrated_url: str
) -> None:
    queue(migrated_url, datetime.now(UTC) + timedelta(hours=2), channel="whatsapp")

    assert dispatch_once(tmp_path, migrated_url) == "dispatch: nothing due\n"
