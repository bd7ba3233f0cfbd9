"""``rapport preview`` shows the headers the customer would get: like the MIME writer,
it shows no bidirectional control in them (issue 15, point 9), whether the control
came from a stored name or from the marketer's subject template."""

from __future__ import annotations

import json
import shutil
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

from factories import REPO, insert_customer, run_rapport

from rapport.channels.mime import BIDI_CONTROLS
from rapport.engine.core.db import make_engine

DAY = date(2026, 3, 21)
#: A name stored before imports refused such names, and a subject line a marketer wrote.
FIRST, LAST = "Ada\u202egnp.exe", "Lovel\u2067ace\u2069"
SUBJECT = "\u200fHappy birthday, {{ customer.first_name }}! \u202bA gift\u202c inside\n"


def test_preview_headers_hold_no_bidi_control(tmp_path: Path, sqlite_template: Path) -> None:
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    (tmp_path / "campaigns").mkdir()
    shutil.copy(REPO / "campaigns" / "birthday.yaml", tmp_path / "campaigns")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    subject = tmp_path / "templates" / "birthday" / "en" / "email_subject.txt"
    subject.write_text(SUBJECT, encoding="utf-8")
    (tmp_path / "config.yaml").write_text(
        textwrap.dedent(
            """\
            database: {url: "sqlite:///rapport.db"}
            channels:
              email: {adapter: file, kind: email, path: outbox}
              sms: {adapter: file, kind: sms, path: outbox}
            """
        ),
        encoding="utf-8",
    )
    db = make_engine(f"sqlite:///{tmp_path / 'rapport.db'}")
    try:
        insert_customer(
            db,
            "B1",
            first_name=FIRST,
            last_name=LAST,
            email="ada@example.com",
            locale="en",
            timezone="UTC",
            birthday=date(1990, 3, 21),
            created_at=datetime(2024, 1, 1, tzinfo=UTC),
        )
    finally:
        db.dispose()
    args = ("preview", "birthday", "--customer", "B1", "--channel", "email")

    shown = run_rapport(*args, "--date", DAY.isoformat(), "--json", cwd=tmp_path)
    text = run_rapport(*args, "--date", DAY.isoformat(), cwd=tmp_path)

    assert shown.returncode == 0, shown.stderr
    headers = json.loads(shown.stdout)["headers"]
    assert headers["To"] == "Adagnp.exe Lovelace <ada@example.com>"
    assert headers["Subject"] == "Happy birthday, Adagnp.exe! A gift inside"
    assert not BIDI_CONTROLS & set("".join(headers.values()))
    assert text.returncode == 0, text.stderr
    head = text.stdout.split("\n\n", 1)[0]
    assert "To: Adagnp.exe Lovelace <ada@example.com>" in head.splitlines()
    assert not BIDI_CONTROLS & set(head)
