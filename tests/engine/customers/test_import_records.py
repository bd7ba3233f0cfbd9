"""Importing customers, orders and consent from CSV and JSON Lines: what each row becomes.

Good rows are kept and every bad field is reported; values are normalised; a re-import
changes nothing and a changed row updates; orders need a known customer and exact
amounts; of two consent records the newer one wins, and a withdrawal wins a tie.
Reading the files themselves (headers, line numbers, bad lines, large files) is tested
in ``test_import_files.py``; the helpers both use are in ``conftest.py``.

Every database test runs on SQLite and PostgreSQL (the ``engine`` fixture in
tests/conftest.py). Row numbers are physical line numbers: in CSV the header is line 1.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from rapport.consent.state import current_status, history
from rapport.engine.core.models import METADATA, ORDERS
from rapport.engine.customers.importer import ImportReport
from tests.engine.customers.conftest import (
    CUSTOMER_COLUMNS,
    FORMATS,
    NOW,
    SARA,
    WANG,
    count,
    customers,
    first_line,
    run,
    write,
)

ORDER_COLUMNS = ["id", "customer_id", "sku", "quantity", "amount", "currency", "ordered_at"]
CONSENT_COLUMNS = ["customer_id", "channel", "topic", "status", "source", "captured_at", "wording"]

ALEX = {
    "id": "c-en-1",
    "first_name": "Alex",
    "last_name": "",
    "email": "",
    "phone": "",
    "locale": "en",
    "timezone": "Europe/London",
    "country": "",
    "birthday": "",
    "created_at": "",
}


def located(report: ImportReport) -> set[tuple[int | None, str | None]]:
    return {(problem.line, problem.field) for problem in report.problems}


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    tables = ["customer", "orders", "consent_event", "consent_state"]
    with engine.connect() as connection:
        return {
            name: [
                tuple(row)
                for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for name in tables
            for table in [METADATA.tables[name]]
        }


@pytest.fixture
def with_customers(engine: Engine, tmp_path: Path) -> Engine:
    report = run(engine, "customers", write(tmp_path / "seed.csv", CUSTOMER_COLUMNS, [SARA, WANG]))
    assert report.inserted == 2
    return engine


# --- customers ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_good_customers_are_kept_and_each_bad_field_reported(
    engine: Engine, tmp_path: Path, fmt: str
) -> None:
    rows = [
        SARA,
        {**WANG, "id": "bad-email", "email": "wang.at.example.cn"},
        {**SARA, "id": "bad-phone", "phone": "09121234567"},
        {**SARA, "id": "bad-tz", "timezone": "Asia/Teheran"},
        {**WANG, "id": "bad-locale", "locale": "zz_ZZ"},
        {**SARA, "id": "future-birthday", "birthday": "2031-01-01"},
        WANG,
        {**ALEX, "id": "two-bad", "locale": "", "country": "Persia"},
        ALEX,
    ]
    report = run(engine, "customers", write(tmp_path / f"customers.{fmt}", CUSTOMER_COLUMNS, rows))

    first = first_line(fmt)
    assert located(report) == {
        (first + 1, "email"),
        (first + 2, "phone"),
        (first + 3, "timezone"),
        (first + 4, "locale"),
        (first + 5, "birthday"),
        (first + 7, "locale"),
        (first + 7, "country"),
    }
    assert (report.rows_read, report.accepted, report.rejected) == (9, 3, 6)
    assert (report.inserted, report.updated, report.unchanged) == (3, 0, 0)
    stored = customers(engine)
    assert set(stored) == {"c-fa-1", "c-zh-1", "c-en-1"}
    sara, wang, alex = stored["c-fa-1"], stored["c-zh-1"], stored["c-en-1"]
    assert (sara.first_name, sara.last_name, sara.birthday) == ("سارا", "رضایی", date(1990, 3, 21))
    assert (wang.last_name, wang.locale, wang.country) == ("王", "zh_Hans_CN", "CN")
    assert wang.created_at == datetime(2024, 1, 31, 16, 0, tzinfo=UTC)
    # Empty optional fields are NULL (or "" for names); created_at defaults to now.
    assert (alex.email, alex.phone, alex.country, alex.birthday) == (None, None, None, None)
    assert (alex.last_name, alex.created_at) == ("", NOW)


def test_values_are_normalised(engine: Engine, tmp_path: Path) -> None:
    row = {
        **SARA,
        "email": "Sara@EXAMPLE.com",
        "phone": "+98 912 123 4567",
        "locale": "fa-IR",
        "country": "ir",
        "first_name": "  سارا  ",
    }
    run(engine, "customers", write(tmp_path / "c.jsonl", CUSTOMER_COLUMNS, [row]))
    sara = customers(engine)["c-fa-1"]
    assert (sara.email, sara.phone, sara.locale, sara.country, sara.first_name) == (
        "Sara@example.com",
        "+989121234567",
        "fa_IR",
        "IR",
        "سارا",
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_reimporting_the_same_file_changes_nothing(
    engine: Engine, tmp_path: Path, fmt: str
) -> None:
    people = write(tmp_path / f"c.{fmt}", CUSTOMER_COLUMNS, [SARA, WANG, ALEX])
    orders = write(
        tmp_path / f"o.{fmt}",
        ORDER_COLUMNS,
        [
            order("o-1", "c-fa-1", amount="1250000", currency="IRR"),
            order("o-2", "c-zh-1", amount="199.5", currency="CNY", quantity=""),
            order("o-3", "c-zh-1", amount="0.0001", currency="USD"),
        ],
    )
    consent = write(
        tmp_path / f"k.{fmt}",
        CONSENT_COLUMNS,
        [
            consent_row("c-fa-1", "granted", "2025-01-01T00:00:00Z"),
            consent_row("c-fa-1", "withdrawn", "2025-02-01T00:00:00Z"),
            consent_row("c-zh-1", "granted", "2025-03-01T00:00:00+08:00", channel="sms"),
        ],
    )
    for kind, path in [("customers", people), ("orders", orders), ("consent", consent)]:
        assert run(engine, kind, path).rejected == 0
    before = dump(engine)
    assert [len(before[t]) for t in before] == [3, 3, 3, 2]

    later = NOW + timedelta(days=3)  # a later run must not move created_at or recorded_at
    again = [
        run(engine, k, p, clock=lambda: later)
        for k, p in [("customers", people), ("orders", orders), ("consent", consent)]
    ]
    assert dump(engine) == before
    assert [(r.inserted, r.updated, r.unchanged) for r in again] == [
        (0, 0, 3),
        (0, 0, 3),
        (0, 0, 3),
    ]


def test_changed_contact_details_are_updated(engine: Engine, tmp_path: Path) -> None:
    run(engine, "customers", write(tmp_path / "a.csv", CUSTOMER_COLUMNS, [SARA, WANG]))
    moved = {**SARA, "email": "sara.new@example.org", "phone": "+989351112233"}
    report = run(engine, "customers", write(tmp_path / "b.csv", CUSTOMER_COLUMNS, [moved, WANG]))
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 1)
    sara = customers(engine)["c-fa-1"]
    assert (sara.email, sara.phone) == ("sara.new@example.org", "+989351112233")


def test_absent_column_is_left_alone_but_empty_value_clears(engine: Engine, tmp_path: Path) -> None:
    run(engine, "customers", write(tmp_path / "full.csv", CUSTOMER_COLUMNS, [SARA, WANG]))
    partial = ["id", "locale", "timezone", "phone"]
    rows = [{**SARA, "phone": ""}, {**WANG, "locale": "zh_Hant_TW"}]
    report = run(engine, "customers", write(tmp_path / "partial.csv", partial, rows))
    assert report.updated == 2
    sara, wang = customers(engine)["c-fa-1"], customers(engine)["c-zh-1"]
    assert (sara.email, sara.phone, sara.first_name) == ("sara@example.com", None, "سارا")
    assert (wang.locale, wang.email, wang.phone) == (
        "zh_Hant_TW",
        "wang.na@example.cn",
        WANG["phone"],
    )


def test_repeated_id_last_row_wins_within_and_across_batches(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [
        SARA,
        {**SARA, "first_name": "سارا ۲"},
        WANG,
        {**SARA, "first_name": "سارا ۳"},
        {**WANG, "last_name": "李"},
    ]
    path = write(tmp_path / "dupes.csv", CUSTOMER_COLUMNS, rows)
    for batch_size in (1000, 2):
        report = run(engine, "customers", path, batch_size=batch_size)
        assert (report.accepted, report.rejected) == (5, 0)
        stored = customers(engine)
        assert (stored["c-fa-1"].first_name, stored["c-zh-1"].last_name) == ("سارا ۳", "李")


# --- orders -------------------------------------------------------------------------


def order(
    order_id: str,
    customer_id: str,
    *,
    amount: str = "19.99",
    currency: str = "USD",
    quantity: str | int = 1,
    sku: str = "SERUM-30ML",
    ordered_at: str = "2025-05-01T10:00:00Z",
) -> dict[str, Any]:
    return {
        "id": order_id,
        "customer_id": customer_id,
        "sku": sku,
        "quantity": quantity,
        "amount": amount,
        "currency": currency,
        "ordered_at": ordered_at,
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_orders_good_kept_bad_reported(with_customers: Engine, tmp_path: Path, fmt: str) -> None:
    rows = [
        order("o-1", "c-fa-1", amount="1250000", currency="IRR", quantity=2),
        order("o-2", "c-zh-1", currency="RMB"),
        order("o-3", "c-zh-1", amount="-10"),
        order("o-4", "c-nobody"),
        order("o-5", "c-nobody", amount="abc", quantity=0),
        order("o-6", "c-zh-1", amount="88.8", currency="cny", quantity=""),
    ]
    report = run(with_customers, "orders", write(tmp_path / f"o.{fmt}", ORDER_COLUMNS, rows))
    first = first_line(fmt)
    assert [(p.line, p.field) for p in report.problems] == [
        (first + 1, "currency"),
        (first + 2, "amount"),
        (first + 3, "customer_id"),
        (first + 4, "customer_id"),
        (first + 4, "quantity"),
        (first + 4, "amount"),
    ]
    assert report.problems[2].message == "unknown customer"
    assert (report.accepted, report.rejected, report.inserted) == (2, 4, 2)
    table = ORDERS
    with with_customers.connect() as connection:
        stored = {r.id: r for r in connection.execute(select(table))}
    assert set(stored) == {"o-1", "o-6"}
    assert (stored["o-1"].amount, stored["o-1"].quantity) == (Decimal("1250000"), 2)
    assert (stored["o-6"].amount, stored["o-6"].currency, stored["o-6"].quantity) == (
        Decimal("88.8"),
        "CNY",
        1,
    )
    assert stored["o-1"].ordered_at == datetime(2025, 5, 1, 10, tzinfo=UTC)


def test_jsonl_numbers_are_exact(with_customers: Engine, tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    path.write_text(
        '{"id": "o-1", "customer_id": "c-zh-1", "sku": "TEA", "quantity": 3,'
        ' "amount": 0.1, "currency": "CNY", "ordered_at": "2025-05-01T10:00:00+08:00"}\n'
        '{"id": "o-2", "customer_id": "c-zh-1", "sku": "TEA", "quantity": true,'
        ' "amount": 1e-5, "currency": "CNY", "ordered_at": "2025-05-01"}\n',
        encoding="utf-8",
    )
    report = run(with_customers, "orders", path)
    assert [(p.line, p.field) for p in report.problems] == [(2, "quantity"), (2, "amount")]
    with with_customers.connect() as connection:
        amount = connection.execute(select(ORDERS.c.amount)).scalar_one()
    assert amount == Decimal("0.1")


# --- consent ------------------------------------------------------------------------


def consent_row(
    customer_id: str,
    status: str,
    captured_at: str,
    *,
    channel: str = "email",
    topic: str = "offers",
    source: str = "checkout",
    wording: str = "offers-v1",
) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "channel": channel,
        "topic": topic,
        "status": status,
        "source": source,
        "captured_at": captured_at,
        "wording": wording,
    }


def consent_status(
    engine: Engine, customer_id: str, channel: str = "email", topic: str = "offers"
) -> str | None:
    with engine.connect() as connection:
        return current_status(connection, customer_id, channel, topic)


@pytest.mark.parametrize("fmt", FORMATS)
def test_consent_newer_withdrawal_wins_and_reimport_adds_no_evidence(
    with_customers: Engine, tmp_path: Path, fmt: str
) -> None:
    rows = [
        # Out of order on purpose: the file order must not matter, only captured_at.
        consent_row("c-fa-1", "withdrawn", "2025-03-01T10:00:00+03:30", source="sms-stop"),
        consent_row("c-fa-1", "granted", "2025-01-01T00:00:00Z"),
        consent_row("c-zh-1", "granted", "2025-01-01T00:00:00Z", topic="birthday"),
        consent_row("c-zh-1", "granted", "2025-02-01T00:00:00Z", channel="sms", topic="birthday"),
    ]
    path = write(tmp_path / f"k.{fmt}", CONSENT_COLUMNS, rows)
    first = run(with_customers, "consent", path)
    assert (first.accepted, first.inserted, first.rejected) == (4, 4, 0)
    assert consent_status(with_customers, "c-fa-1") == "withdrawn"
    assert consent_status(with_customers, "c-zh-1", topic="birthday") == "granted"
    before = dump(with_customers)

    again = run(with_customers, "consent", path, clock=lambda: NOW + timedelta(hours=1))
    assert (again.accepted, again.inserted, again.unchanged) == (4, 0, 4)
    assert dump(with_customers) == before
    with with_customers.connect() as connection:
        trail = history(connection, "c-fa-1")
    assert [(e.status, e.source, e.wording, e.recorded_at) for e in trail] == [
        ("granted", "checkout", "offers-v1", NOW),
        ("withdrawn", "sms-stop", "offers-v1", NOW),
    ]


def test_consent_equal_timestamp_withdrawn_wins(with_customers: Engine, tmp_path: Path) -> None:
    at = "2025-04-01T12:00:00Z"
    rows = [
        consent_row("c-zh-1", "withdrawn", at, source="call-centre"),
        consent_row("c-zh-1", "granted", at, source="checkout"),
    ]
    run(with_customers, "consent", write(tmp_path / "k.csv", CONSENT_COLUMNS, rows))
    assert consent_status(with_customers, "c-zh-1") == "withdrawn"
    # Also when the grant arrives in a later file.
    run(with_customers, "consent", write(tmp_path / "k2.csv", CONSENT_COLUMNS, rows[1:]))
    assert consent_status(with_customers, "c-zh-1") == "withdrawn"
    assert count(with_customers, "consent_event") == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_consent_bad_rows(with_customers: Engine, tmp_path: Path, fmt: str) -> None:
    rows = [
        consent_row("c-fa-1", "granted", "2025-01-01T00:00:00Z"),
        consent_row("c-nobody", "granted", "2025-01-01T00:00:00Z"),
        consent_row("c-fa-1", "granted", "2025-01-01T00:00:00Z", channel="fax", topic="spam"),
        consent_row("c-fa-1", "pending", "2025-01-01"),
        consent_row("c-fa-1", "granted", "2030-01-01T00:00:00Z"),  # future: would outrank all
        consent_row("c-fa-1", "withdrawn", "01/02/2025", source=""),
    ]
    report = run(with_customers, "consent", write(tmp_path / f"k.{fmt}", CONSENT_COLUMNS, rows))
    first = first_line(fmt)
    assert [(p.line, p.field) for p in report.problems] == [
        (first + 1, "customer_id"),
        (first + 2, "channel"),
        (first + 2, "topic"),
        (first + 3, "status"),
        (first + 4, "captured_at"),
        (first + 5, "source"),
        (first + 5, "captured_at"),
    ]
    assert (report.accepted, report.rejected) == (1, 5)
    assert consent_status(with_customers, "c-fa-1") == "granted"


def test_a_jsonl_id_written_with_a_fraction_or_exponent_is_refused_at_its_line(
    with_customers: Engine, tmp_path: Path
) -> None:
    """1E2 would be the order "1E+2" and 1e999 the order "1E+999": an id is a string
    or a whole number; 100 stays the id "100"."""
    path = tmp_path / "o.jsonl"
    rest = '"sku": "TEA", "amount": "1", "currency": "CNY", "ordered_at": "2025-05-01"'
    path.write_text(
        f'{{"id": 1E2, "customer_id": "c-zh-1", {rest}}}\n'
        f'{{"id": 100, "customer_id": "c-zh-1", {rest}}}\n'
        f'{{"id": "o-3", "customer_id": "c-zh-1", "sku": 1e999, "amount": "1",'
        ' "currency": "CNY", "ordered_at": "2025-05-01"}\n',
        encoding="utf-8",
    )
    report = run(with_customers, "orders", path)
    assert [(p.line, p.field, p.message) for p in report.problems] == [
        (1, "id", "must be a string or a whole number (an integer without a fraction or exponent)"),
        (
            3,
            "sku",
            "must be a string or a whole number (an integer without a fraction or exponent)",
        ),
    ]
    with with_customers.connect() as connection:
        assert connection.execute(select(ORDERS.c.id)).scalars().all() == ["100"]
