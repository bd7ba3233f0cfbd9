"""After ``rapport customers erase`` nothing of the person is left where Rapport writes.

The person is distinctive on purpose (Shabnam Nourizadeh, her family name written with
the Persian zero-width non-joiner, an e-mail and a phone no one else has), so a search
of raw bytes finds her wherever she is:

* SQLite: the bytes of the database file and of its ``-wal`` file, searched before
  erasure (to show the search sees her, in both files) and after (nothing);
* the file channel's outbox folder: her ``.eml`` and ``.json`` files are deleted, the
  other customer's stay;
* PostgreSQL: every live row of every table, read whole as text (outbox, consent
  events, feedback, suppression, and any table added later);
* the next import: her row is refused, not silently refilled.

Dead PostgreSQL row versions, the server's WAL and backups are outside what a live row
shows; docs/operations.md says what the operator does about them.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from factories import REPO, run_rapport
from sqlalchemy import Engine, MetaData, insert, text

from rapport.channels.base import OutgoingMessage
from rapport.channels.file import FileChannel
from rapport.consent.privacy import checkpoint_after_erasure, erase_customer
from rapport.consent.store import ConsentChange, record_consent
from rapport.engine.core.config import Settings
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import FEEDBACK_ANSWER, MessageStatus
from rapport.engine.customers.importer import import_file
from rapport.engine.delivery import outbox, suppression

FIRST, LAST = "شبنم", "نوری\u200cزاده"
EMAIL = "Shabnam.Nourizadeh.7731@example.org"
PHONE = "+989127731042"
#: What must not be found anywhere after erasure (compared on lower-cased bytes).
NEEDLES = (FIRST, LAST, "نوری", "shabnam.nourizadeh.7731", "shabnam", "9127731042")
HEADER = "id,first_name,last_name,email,phone,locale,timezone,country,birthday,created_at"
HER = f"FA7,{FIRST},{LAST},{EMAIL},{PHONE},fa_IR,Asia/Tehran,IR,1988-04-02,2024-01-01T00:00:00Z"
OTHER = "ZH1,娜,王,wang.na@example.cn,+8613912345678,zh_Hans_CN,Asia/Shanghai,CN,,"
#: Enough other customers that the tables span many pages, her row among them.
FILLERS = [
    f"N{i:03d},Filler{i},Person{i},filler{i}@example.com,,en,Europe/London,GB,," for i in range(400)
]
CUSTOMERS_CSV = "\n".join([HEADER, *FILLERS[:200], HER, OTHER, *FILLERS[200:]]) + "\n"
CONSENT_JSONL = "\n".join(
    json.dumps(
        {
            "customer_id": customer,
            "channel": channel,
            "topic": "birthday",
            "status": "granted",
            "source": "checkout",
            "captured_at": "2025-01-01T10:00:00Z",
        }
    )
    for customer in ("FA7", "ZH1")
    for channel in ("email", "sms")
)
AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def found_in(data: bytes) -> list[str]:
    lowered = data.lower()
    return [needle for needle in NEEDLES if needle.lower().encode("utf-8") in lowered]


def message_rows(customer_id: str, name: str, email: str, phone: str) -> list[dict[str, Any]]:
    """A sent birthday e-mail and SMS and a failed offer that quotes her name."""
    common = {
        "customer_id": customer_id,
        "topic": "birthday",
        "send_at": AT,
        "created_at": AT,
        "subject": None,
        "body_html": None,
        "last_error": None,
        "sent_at": None,
    }
    return [
        {
            **common,
            "idempotency_key": f"{customer_id}:birthday:birthday:2026:email",
            "campaign": "birthday",
            "occasion": "birthday:2026",
            "channel": "email",
            "locale": "fa_IR",
            "status": MessageStatus.SENT.value,
            "subject": f"{name} عزیز، تولدتان مبارک",
            "body_text": f"سلام {name}",
            "body_html": f"<p>سلام {name}</p>",
            "sent_at": AT,
        },
        {
            **common,
            "idempotency_key": f"{customer_id}:reorder:2026-03:sms",
            "campaign": "reorder",
            "occasion": "2026-03",
            "channel": "sms",
            "locale": "fa_IR",
            "status": MessageStatus.SENT.value,
            "body_text": f"{name}، سفارش دوباره؟",
            "sent_at": AT,
        },
        {
            **common,
            "idempotency_key": f"{customer_id}:offers:2026-03:email",
            "campaign": "offers",
            "occasion": "2026-03",
            "channel": "email",
            "locale": "fa_IR",
            "status": MessageStatus.FAILED.value,
            "subject": "...",
            "body_text": "...",
            "last_error": f"550 5.1.1 mailbox of {name} ({email}, {phone}) is full",
        },
    ]


def seed(engine: Engine, tmp_path: Path, settings: Settings) -> None:
    """Her and the others imported; messages, consent from the web, a complaint and a
    feedback comment that quote her."""
    for kind, name, content in (
        ("customers", "customers.csv", CUSTOMERS_CSV),
        ("consent", "consent.jsonl", CONSENT_JSONL),
    ):
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        report = import_file(engine, settings, kind, path, clock=lambda: AT)  # type: ignore[arg-type]
        assert report.rejected == 0, report.problems
    with engine.begin() as connection:
        outbox.enqueue(connection, message_rows("FA7", f"{FIRST} {LAST}", EMAIL, PHONE))
        outbox.enqueue(connection, message_rows("ZH1", "王娜", "wang.na@example.cn", "+86139"))
        record_consent(
            connection,
            [
                ConsentChange(
                    customer_id="FA7",
                    channel="email",
                    topic="offers",
                    status="granted",
                    source="web",
                    captured_at=AT,
                    ip="203.0.113.77",
                    user_agent=f"Mozilla/5.0 ({EMAIL})",
                )
            ],
            recorded_at=AT,
        )
        suppression.suppress(connection, [("sms", PHONE, "complaint", f"STOP from {PHONE}")], AT)
        connection.execute(
            insert(FEEDBACK_ANSWER).values(
                customer_id="FA7",
                occasion="2026-02",
                campaign="feedback",
                channel="email",
                score=9,
                comment=f"من {FIRST} {LAST} هستم، عالی بود ({EMAIL})",
                locale="fa_IR",
                stage="loyal",
                tier="vib",
                answered_at=AT,
            )
        )


def write_outbox_files(folder: Path) -> FileChannel:
    """What the file channel wrote when the e-mail and the SMS were sent."""
    channel = FileChannel(folder, sender="Shop <shop@example.com>")
    people = (
        ("FA7", f"{FIRST} {LAST}", EMAIL, PHONE),
        ("ZH1", "王娜", "wang.na@example.cn", "+8613912345678"),
    )

    async def send_all() -> None:
        for customer_id, name, email, phone in people:
            email_row, sms_row, _ = message_rows(customer_id, name, email, phone)
            for row, to in ((email_row, email), (sms_row, phone)):
                message = OutgoingMessage(
                    idempotency_key=row["idempotency_key"],
                    kind="email" if row["channel"] == "email" else "sms",
                    to=to,
                    to_name=name if row["channel"] == "email" else None,
                    subject=row.get("subject"),
                    text=row["body_text"],
                    html=row.get("body_html"),
                    customer_id=customer_id,
                )
                assert (await channel.send(message)).reason is None

    asyncio.run(send_all())
    return channel


# -- SQLite and the file channel, through the command -----------------------------------
@pytest.fixture
def workdir(tmp_path: Path, sqlite_template: Path) -> Path:
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    (tmp_path / "config.yaml").write_text(
        textwrap.dedent(
            f"""\
            database: {{url: "sqlite:///rapport.db"}}
            campaigns_dir: {REPO / "campaigns"}
            templates_dir: {REPO / "templates"}
            channels:
              email: {{adapter: file, kind: email, path: outbox}}
              sms: {{adapter: file, kind: sms, path: outbox}}
            """
        ),
        encoding="utf-8",
    )
    return tmp_path


def test_erase_leaves_nothing_in_the_sqlite_files_or_the_outbox_folder(workdir: Path) -> None:
    db_file, wal_file = workdir / "rapport.db", workdir / "rapport.db-wal"
    settings = Settings(base_dir=workdir)
    engine = make_engine(f"sqlite:///{db_file}")
    try:
        seed(engine, workdir, settings)
        with engine.connect() as connection:  # her rows into the main file too ...
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        with engine.begin() as connection:  # ... and newer page copies in the WAL
            connection.execute(text("UPDATE customer SET country = 'IR' WHERE id = 'FA7'"))
        write_outbox_files(workdir / "outbox")
        assert len(list((workdir / "outbox").iterdir())) == 4
        assert set(found_in(db_file.read_bytes())) >= {FIRST, LAST, "9127731042"}
        assert found_in(wal_file.read_bytes())  # the search sees her in the WAL as well

        # Her connection-holding neighbour (the daemon, say) stays open but idle.
        erased = run_rapport("customers", "erase", "FA7", "--yes", cwd=workdir)
        assert erased.returncode == 0, erased.stderr
        assert "2 outbox files deleted" in erased.stdout

        assert found_in(db_file.read_bytes()) == []
        assert not wal_file.exists() or found_in(wal_file.read_bytes()) == []
        assert not wal_file.exists() or wal_file.stat().st_size == 0
        remaining = sorted((workdir / "outbox").iterdir())
        assert [path.name.split("_")[0] for path in remaining] == ["ZH1", "ZH1"]
        for path in remaining:
            assert found_in(path.read_bytes()) == []

        # The CRM sends her again: the row is skipped (counted, not a failure), her row
        # stays empty, the files stay clean, and the command says which row and why.
        again = run_rapport("import", "customers", "customers.csv", cwd=workdir)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "customers.csv:202: id: skipped: erased on request on " in again.stderr
        assert "1 skipped (erased on request)" in again.stdout
        with sqlite3.connect(db_file) as db:
            row = db.execute(
                "select first_name, last_name, email, phone, erased_at is not null"
                " from customer where id = 'FA7'"
            ).fetchone()
        assert row == ("", "", None, None, 1)
        assert checkpoint_after_erasure(engine) is True
        assert found_in(db_file.read_bytes()) == []
    finally:
        engine.dispose()


def test_a_reader_holding_the_wal_makes_the_checkpoint_report_it(workdir: Path) -> None:
    db_file = workdir / "rapport.db"
    settings = Settings(base_dir=workdir)
    engine = make_engine(f"sqlite:///{db_file}")
    reader = sqlite3.connect(db_file)
    try:
        seed(engine, workdir, settings)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM customer").fetchone()  # holds a snapshot
        with engine.begin() as connection:
            erase_customer(connection, "FA7", AT)
        assert checkpoint_after_erasure(engine, wait_seconds=0.1) is False
        reader.rollback()
        assert checkpoint_after_erasure(engine, wait_seconds=0.1) is True
        assert found_in(db_file.read_bytes()) == []
    finally:
        reader.close()
        engine.dispose()


# -- PostgreSQL: every live row -------------------------------------------------------
def test_erase_leaves_no_live_postgresql_row_naming_her(
    migrated_postgres_url: str, tmp_path: Path
) -> None:
    settings = Settings(base_dir=tmp_path)
    engine = make_engine(migrated_postgres_url)
    try:
        seed(engine, tmp_path, settings)
        assert set(live_rows_naming_her(engine)) >= {
            "customer",
            "outbox_message",
            "consent_event",
            "feedback_answer",
            "suppression",
        }
        with engine.begin() as connection:
            report = erase_customer(connection, "FA7", AT)
        assert len(report.message_keys) == 3
        assert checkpoint_after_erasure(engine) is None  # nothing to do on PostgreSQL
        assert live_rows_naming_her(engine) == {}
        assert all(key.startswith("FA7:") for key in report.message_keys)
    finally:
        engine.dispose()


def live_rows_naming_her(engine: Engine) -> dict[str, list[str]]:
    """Table -> needles found in its live rows, each row read whole as text."""
    metadata = MetaData()
    metadata.reflect(bind=engine)
    found: dict[str, list[str]] = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows = connection.exec_driver_sql(f'SELECT t::text FROM "{table.name}" AS t')
            hits = sorted({n for (row,) in rows for n in found_in(row.encode("utf-8"))})
            if hits:
                found[table.name] = hits
    return found
