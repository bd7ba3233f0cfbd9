"""Consent evidence that contradicts the record: the same fact (customer, channel, topic,
status, source, captured_at) said again with another wording is a conflict, reported at
its line and counted ``conflicting``, never folded into ``unchanged``; the recorded
evidence stays as it is (the trail is append-only) and the file's other rows are
imported. An identical row, or one leaving the wording empty, stays unchanged.

On SQLite and PostgreSQL (the ``engine`` fixture of tests/conftest.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from factories import REPO, run_rapport
from sqlalchemy import Engine, event, select

from rapport.engine.core.errors import Problem
from rapport.engine.core.models import CONSENT_EVENT
from tests.engine.customers.conftest import (
    CUSTOMER_COLUMNS,
    FORMATS,
    SARA,
    WANG,
    first_line,
    run,
    write,
)

CONSENT_COLUMNS = ["customer_id", "channel", "topic", "status", "source", "captured_at", "wording"]
AT = "2024-07-30T09:16:00Z"
FACT = "(customer c-fa-1, email/newsletter granted through checkout at 2024-07-30T09:16:00Z)"


def grant(wording: str, customer_id: str = "c-fa-1", captured_at: str = AT) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "channel": "email",
        "topic": "newsletter",
        "status": "granted",
        "source": "checkout",
        "captured_at": captured_at,
        "wording": wording,
    }


def wordings(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as connection:
        query = select(CONSENT_EVENT.c.customer_id, CONSENT_EVENT.c.wording)
        return [tuple(row) for row in connection.execute(query.order_by(CONSENT_EVENT.c.id))]


@pytest.fixture
def recorded(engine: Engine, tmp_path: Path) -> Engine:
    """Sara and Wang Na, and Sara's grant of the newsletter to wording checkout-fa-v3."""
    run(engine, "customers", write(tmp_path / "people.csv", CUSTOMER_COLUMNS, [SARA, WANG]))
    first = run(
        engine, "consent", write(tmp_path / "first.csv", CONSENT_COLUMNS, [grant("checkout-fa-v3")])
    )
    assert (first.inserted, first.problems) == (1, [])
    return engine


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_reimport_with_another_wording_is_a_conflict_at_its_line_and_the_record_is_kept(
    recorded: Engine, tmp_path: Path, fmt: str
) -> None:
    path = write(tmp_path / f"again.{fmt}", CONSENT_COLUMNS, [grant("v2-different")])
    report = run(recorded, "consent", path)
    assert (report.accepted, report.inserted, report.unchanged) == (0, 0, 0)
    assert (report.conflicting, report.rejected) == (1, 0)
    assert report.problems == [
        Problem(
            str(path),
            first_line(fmt),
            f"'v2-different' differs from the recorded 'checkout-fa-v3' for this fact {FACT}; "
            "the recorded evidence is kept",
            "wording",
        )
    ]
    assert "1 conflicting" in report.summary()
    assert wordings(recorded) == [("c-fa-1", "checkout-fa-v3")]


@pytest.mark.parametrize("wording", ["checkout-fa-v3", ""])
def test_an_identical_reimport_or_one_without_a_wording_stays_unchanged(
    recorded: Engine, tmp_path: Path, wording: str
) -> None:
    path = write(tmp_path / "again.csv", CONSENT_COLUMNS, [grant(wording)])
    report = run(recorded, "consent", path)
    assert (report.accepted, report.unchanged, report.conflicting) == (1, 1, 0)
    assert report.problems == []
    assert wordings(recorded) == [("c-fa-1", "checkout-fa-v3")]


def test_a_wording_for_a_fact_recorded_without_one_is_a_conflict(
    recorded: Engine, tmp_path: Path
) -> None:
    later = "2024-08-01T10:00:00Z"
    run(
        recorded,
        "consent",
        write(tmp_path / "a.csv", CONSENT_COLUMNS, [grant("", "c-zh-1", later)]),
    )
    report = run(
        recorded,
        "consent",
        write(tmp_path / "b.csv", CONSENT_COLUMNS, [grant("v1", "c-zh-1", later)]),
    )
    assert report.conflicting == 1
    assert report.problems[0].message.startswith(
        "'v1' differs from the record, which has no wording, for this fact (customer c-zh-1,"
    )


def test_a_file_mixing_new_identical_and_conflicting_rows_imports_the_new_ones(
    recorded: Engine, tmp_path: Path
) -> None:
    rows = [
        grant("checkout-zh-v1", customer_id="c-zh-1"),  # new
        grant("checkout-fa-v3"),  # identical
        grant("v2-different"),  # conflicting
        {**grant("x"), "status": "maybe"},  # invalid
        grant("checkout-zh-v1", customer_id="c-zh-1", captured_at="2024-08-01T00:00:00Z"),  # new
    ]
    path = write(tmp_path / "mixed.csv", CONSENT_COLUMNS, rows)
    report = run(recorded, "consent", path)
    assert (report.rows_read, report.accepted, report.inserted, report.unchanged) == (5, 3, 2, 1)
    assert (report.conflicting, report.rejected) == (1, 1)
    assert [(p.line, p.field) for p in report.problems] == [(4, "wording"), (5, "status")]
    assert wordings(recorded) == [
        ("c-fa-1", "checkout-fa-v3"),
        ("c-zh-1", "checkout-zh-v1"),
        ("c-zh-1", "checkout-zh-v1"),
    ]


def test_two_rows_of_one_file_giving_one_fact_two_wordings_conflict(
    recorded: Engine, tmp_path: Path
) -> None:
    rows = [grant("a-v1", customer_id="c-zh-1"), grant("a-v2", customer_id="c-zh-1")]
    report = run(recorded, "consent", write(tmp_path / "twice.csv", CONSENT_COLUMNS, rows))
    assert (report.inserted, report.conflicting) == (1, 1)
    assert [(p.line, p.field) for p in report.problems] == [(3, "wording")]
    assert "differs from the recorded 'a-v1'" in report.problems[0].message


def test_the_recorded_evidence_is_looked_up_once_per_batch_not_per_row(
    recorded: Engine, tmp_path: Path
) -> None:
    def selects_of_a_reimport(rows: int) -> int:
        moments = [f"2024-09-01T00:{minute:02d}:00Z" for minute in range(rows)]
        path = write(
            tmp_path / f"n{rows}.csv",
            CONSENT_COLUMNS,
            [grant("w1", "c-zh-1", at) for at in moments],
        )
        run(recorded, "consent", path)
        write(
            tmp_path / f"m{rows}.csv",
            CONSENT_COLUMNS,
            [grant("w2", "c-zh-1", at) for at in moments],
        )
        seen: list[str] = []

        def count(*args: Any) -> None:
            if args[2].lstrip().upper().startswith("SELECT") and "consent_event" in args[2]:
                seen.append(args[2])

        event.listen(recorded, "before_cursor_execute", count)
        try:
            report = run(recorded, "consent", tmp_path / f"m{rows}.csv")
        finally:
            event.remove(recorded, "before_cursor_execute", count)
        assert report.conflicting == rows
        return len(seen)

    assert selects_of_a_reimport(3) == selects_of_a_reimport(40) == 1


def test_the_command_prints_the_conflict_counts_it_and_exits_1(
    recorded: Engine, migrated_url: str, tmp_path: Path
) -> None:
    (tmp_path / "config.yaml").write_text(
        f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n"
        "channels:\n"
        "  email: {adapter: file, kind: email, path: outbox}\n"
        "  sms: {adapter: file, kind: sms, path: outbox}\n",
        encoding="utf-8",
    )
    rows = [grant("checkout-zh-v1", customer_id="c-zh-1"), grant("v2-different")]
    write(tmp_path / "consent.csv", CONSENT_COLUMNS, rows)
    env = {"RAPPORT_DATABASE_URL": migrated_url}
    message = (
        f"'v2-different' differs from the recorded 'checkout-fa-v3' for this fact {FACT}; "
        "the recorded evidence is kept"
    )

    text = run_rapport("import", "consent", "consent.csv", cwd=tmp_path, env=env)
    assert text.returncode == 1
    assert text.stderr.splitlines() == [f"consent.csv:3: wording: {message}"]
    assert text.stdout == (
        "consent: consent.csv: 2 rows read, 1 accepted (1 inserted, 0 updated, 0 unchanged), "
        "1 conflicting, 0 rejected\n"
    )

    again = run_rapport("import", "consent", "consent.csv", "--json", cwd=tmp_path, env=env)
    assert again.returncode == 1 and again.stderr == ""
    found = json.loads(again.stdout)
    assert found["ok"] is False
    assert (found["accepted"], found["unchanged"], found["conflicting"]) == (1, 1, 1)
    assert found["rejected"] == 0
    assert found["problems"] == [
        {"file": "consent.csv", "line": 3, "field": "wording", "message": message}
    ]
    assert wordings(recorded) == [("c-fa-1", "checkout-fa-v3"), ("c-zh-1", "checkout-zh-v1")]


def test_the_conflict_docs_import_md_shows_is_what_the_import_reports(
    engine: Engine, tmp_path: Path
) -> None:
    page = (REPO / "docs" / "import.md").read_text(encoding="utf-8")
    (shown,) = re.findall(r"^```text conflict\n(.*?)\n```", page, re.MULTILINE | re.DOTALL)
    james = {**SARA, "id": "c-en-2", "email": "james@example.com", "phone": ""}
    run(engine, "customers", write(tmp_path / "people.csv", CUSTOMER_COLUMNS, [james]))
    recorded = {**grant("checkout-en-v3", "c-en-2", "2024-07-30T09:16:00Z")}
    run(engine, "consent", write(tmp_path / "first.jsonl", CONSENT_COLUMNS, [recorded]))
    path = write(
        tmp_path / "consent.csv", CONSENT_COLUMNS, [{**recorded, "wording": "v2-different"}]
    )
    report = run(engine, "consent", path)
    assert [str(problem).replace(str(path), "consent.csv") for problem in report.problems] == [
        shown
    ]
