"""Importing after an erasure (issue 16, point 4): a row naming a customer erased on
request is skipped, counted and listed ("erased on request on DATE"), never a problem,
and nothing of theirs is re-created or refilled: not the customer row, not consent
evidence, not orders. On SQLite and PostgreSQL, in CSV and JSON Lines; the command's
exit status and its text and ``--json`` output are checked on SQLite.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from factories import REPO, run_rapport
from sqlalchemy import Engine, select

from rapport.consent.privacy import erase_customer
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import CONSENT_EVENT, CONSENT_STATE, CUSTOMER, ORDERS
from rapport.engine.customers import importer
from tests.engine.customers.conftest import (
    CUSTOMER_COLUMNS,
    FORMATS,
    SARA,
    WANG,
    first_line,
    run,
    write,
)

ERASED_AT = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)
LATER = datetime(2025, 6, 3, 12, 0, tzinfo=UTC)
ORDER_COLUMNS = ["id", "customer_id", "sku", "quantity", "amount", "currency", "ordered_at"]
CONSENT_COLUMNS = ["customer_id", "channel", "topic", "status", "source", "captured_at"]


def order(order_id: str, customer_id: str) -> dict[str, Any]:
    return {
        "id": order_id,
        "customer_id": customer_id,
        "sku": "SERUM-30ML",
        "quantity": "1",
        "amount": "12.50",
        "currency": "USD",
        "ordered_at": "2025-05-01T10:00:00Z",
    }


def grant(customer_id: str, captured_at: str, channel: str = "email") -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "channel": channel,
        "topic": "birthday",
        "status": "granted",
        "source": "checkout",
        "captured_at": captured_at,
    }


def snapshot(engine: Engine, customer_id: str) -> dict[str, Any]:
    """Everything stored under the customer's id."""
    with engine.connect() as connection:
        return {
            table.name: connection.execute(
                select(table).where(
                    (table.c.id if table is CUSTOMER else table.c.customer_id) == customer_id
                )
            ).all()
            for table in (CUSTOMER, ORDERS, CONSENT_EVENT, CONSENT_STATE)
        }


@pytest.fixture
def erased_sara(engine: Engine, tmp_path: Path) -> dict[str, Any]:
    """Sara and Wang imported with an order and a grant each, then Sara erased: her
    stored rows, as they are after the erasure."""
    assert run(engine, "customers", write(tmp_path / "c.csv", CUSTOMER_COLUMNS, [SARA, WANG]))
    orders = [order("O1", SARA["id"]), order("O2", WANG["id"])]
    assert run(engine, "orders", write(tmp_path / "o.csv", ORDER_COLUMNS, orders)).rejected == 0
    grants = [grant(SARA["id"], "2025-01-01T10:00:00Z"), grant(WANG["id"], "2025-01-01T10:00:00Z")]
    assert run(engine, "consent", write(tmp_path / "g.csv", CONSENT_COLUMNS, grants)).rejected == 0
    with engine.begin() as connection:
        erase_customer(connection, SARA["id"], ERASED_AT)
    return snapshot(engine, SARA["id"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_reimporting_an_erased_customer_skips_the_row_and_refills_nothing(
    engine: Engine, tmp_path: Path, erased_sara: dict[str, Any], fmt: str
) -> None:
    path = write(tmp_path / f"again.{fmt}", CUSTOMER_COLUMNS, [SARA, {**WANG, "country": "TW"}])
    report = run(engine, "customers", path, clock=lambda: LATER)

    assert (report.rows_read, report.accepted, report.rejected) == (2, 1, 0)
    assert (report.erased_skipped, report.updated, report.problems) == (1, 1, [])
    assert [str(skip) for skip in report.skipped] == [
        f"{path}:{first_line(fmt)}: id: skipped: erased on request on 2025-06-02"
    ]
    assert report.summary().endswith("0 rejected, 1 skipped (erased on request)")
    assert snapshot(engine, SARA["id"]) == erased_sara
    stored = erased_sara["customer"][0]
    assert (stored.first_name, stored.email, stored.phone, stored.birthday) == (
        "",
        None,
        None,
        None,
    )


@pytest.fixture
def postgres_engine(migrated_postgres_url: str) -> Iterator[Engine]:
    """A migrated PostgreSQL database: the race below needs READ COMMITTED."""
    db = make_engine(migrated_postgres_url)
    try:
        yield db
    finally:
        db.dispose()


def test_an_erasure_committed_while_a_batch_is_written_is_not_refilled(
    postgres_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch checks for erased customers, then upserts. An erasure committing in
    between (a nightly CRM sync running while the operator erases) was overwritten on
    PostgreSQL: the upsert's DO UPDATE found the erased row and wrote her name and
    addresses back into it. An erased row is now never updated, whenever it was erased;
    and the check locks the batch's customers (engine/customers/erased_ids.py), so an
    erasure started after it waits for the batch and then clears what it wrote."""
    engine = postgres_engine
    path = write(tmp_path / "c.csv", CUSTOMER_COLUMNS, [SARA])
    assert run(engine, "customers", path).inserted == 1
    original = importer.skip_erased
    erasing: list[threading.Thread] = []

    def erase() -> None:
        with engine.begin() as connection:
            erase_customer(connection, SARA["id"], ERASED_AT)

    def erase_meanwhile(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        erasing.append(threading.Thread(target=erase))
        erasing[0].start()
        erasing[0].join(1.0)  # it commits now, unless it waits for this batch

    monkeypatch.setattr(importer, "skip_erased", erase_meanwhile)
    changed = write(tmp_path / "again.csv", CUSTOMER_COLUMNS, [{**SARA, "first_name": "x"}])
    run(engine, "customers", changed, clock=lambda: LATER)
    erasing[0].join(30)
    assert not erasing[0].is_alive()
    (stored,) = snapshot(engine, SARA["id"])["customer"]
    assert (stored.first_name, stored.email, stored.phone) == ("", None, None)


@pytest.mark.parametrize("fmt", FORMATS)
def test_orders_and_consent_naming_an_erased_customer_are_skipped(
    engine: Engine, tmp_path: Path, erased_sara: dict[str, Any], fmt: str
) -> None:
    orders = [order("O1", SARA["id"]), order("O9", SARA["id"]), order("O3", WANG["id"])]
    report = run(engine, "orders", write(tmp_path / f"o.{fmt}", ORDER_COLUMNS, orders))
    assert (report.accepted, report.inserted, report.rejected, report.erased_skipped) == (
        1,
        1,
        0,
        2,
    )
    line = first_line(fmt)
    assert [(s.line, s.field, s.message) for s in report.skipped] == [
        (line, "customer_id", "skipped: erased on request on 2025-06-02"),
        (line + 1, "customer_id", "skipped: erased on request on 2025-06-02"),
    ]

    grants = [
        grant(SARA["id"], "2025-06-03T08:00:00Z"),  # a grant after the erasure ...
        {**grant(SARA["id"], "2025-06-03T08:00:00Z", "sms"), "status": "withdrawn"},
        grant(WANG["id"], "2025-06-03T08:00:00Z", "sms"),
    ]
    path = write(tmp_path / f"g.{fmt}", CONSENT_COLUMNS, grants)
    report = run(engine, "consent", path, clock=lambda: LATER)
    assert (report.accepted, report.inserted, report.erased_skipped) == (1, 1, 2)
    assert report.problems == [] and report.rejected == 0

    assert snapshot(engine, SARA["id"]) == erased_sara  # ... is not her consent again


def test_an_erased_row_is_skipped_whatever_else_it_holds(
    engine: Engine, tmp_path: Path, erased_sara: dict[str, Any]
) -> None:
    """The row is not imported, so its other mistakes are not the import's to report."""
    bad = {**SARA, "timezone": "Mars/Olympus", "email": "not an address"}
    report = run(engine, "customers", write(tmp_path / "bad.csv", CUSTOMER_COLUMNS, [bad]))
    assert (report.rejected, report.erased_skipped, report.problems) == (0, 1, [])
    assert snapshot(engine, SARA["id"]) == erased_sara


# -- the command ----------------------------------------------------------------------------
@pytest.fixture
def workdir(tmp_path: Path, sqlite_template: Path) -> Path:
    (tmp_path / "rapport.db").write_bytes(sqlite_template.read_bytes())
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: 'sqlite:///{tmp_path / 'rapport.db'}'}}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n"
        "channels:\n"
        "  email: {adapter: file, kind: email, path: outbox}\n"
        "  sms: {adapter: file, kind: sms, path: outbox}\n",
        encoding="utf-8",
    )
    write(tmp_path / "customers.csv", CUSTOMER_COLUMNS, [SARA, WANG])
    assert run_rapport("import", "customers", "customers.csv", cwd=tmp_path).returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'rapport.db'}")
    try:
        with engine.begin() as connection:
            erase_customer(connection, SARA["id"], ERASED_AT)
    finally:
        engine.dispose()
    return tmp_path


def test_the_nightly_sync_of_an_erased_customer_exits_0_and_says_what_it_skipped(
    workdir: Path,
) -> None:
    result = run_rapport("import", "customers", "customers.csv", cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        "customers.csv:2: id: skipped: erased on request on 2025-06-02"
    ]
    assert result.stdout == (
        "customers: customers.csv: 2 rows read, 1 accepted (0 inserted, 0 updated, "
        "1 unchanged), 0 rejected, 1 skipped (erased on request)\n"
    )

    as_json = run_rapport("import", "customers", "customers.csv", "--json", cwd=workdir)
    assert as_json.returncode == 0 and as_json.stderr == ""
    found = json.loads(as_json.stdout)
    assert found["ok"] is True and (found["accepted"], found["rejected"]) == (1, 0)
    assert found["erased_skipped"] == 1 and found["problems"] == []
    assert found["skipped"] == [
        {
            "file": "customers.csv",
            "line": 2,
            "field": "id",
            "message": "skipped: erased on request on 2025-06-02",
        }
    ]


def test_a_skipped_row_does_not_hide_a_rejected_one(workdir: Path) -> None:
    write(workdir / "mixed.csv", CUSTOMER_COLUMNS, [SARA, {**WANG, "locale": ""}])
    result = run_rapport("import", "customers", "mixed.csv", cwd=workdir)
    assert result.returncode == 1
    assert "mixed.csv:2: id: skipped: erased on request on 2025-06-02" in result.stderr
    assert "mixed.csv:3: locale: is required" in result.stderr
    assert result.stdout.rstrip().endswith("1 rejected, 1 skipped (erased on request)")
