"""Importing customers, orders and consent from CSV and JSON Lines.

Every database test runs on SQLite and PostgreSQL (the ``engine`` fixture in
conftest.py). Row numbers are physical line numbers: in CSV the header is line 1.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import SQLModel

from rapport.consent.state import current_status, history
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import ImportFileError, Problem
from rapport.engine.core.models import Customer, Order
from rapport.engine.customers.importer import ImportReport, import_file

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
CUSTOMER_COLUMNS = [
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "locale",
    "timezone",
    "country",
    "birthday",
    "created_at",
]
ORDER_COLUMNS = ["id", "customer_id", "sku", "quantity", "amount", "currency", "ordered_at"]
CONSENT_COLUMNS = ["customer_id", "channel", "topic", "status", "source", "captured_at", "wording"]
FORMATS = ["csv", "jsonl"]

SARA = {
    "id": "c-fa-1",
    "first_name": "سارا",
    "last_name": "رضایی",
    "email": "sara@example.com",
    "phone": "+989121234567",
    "locale": "fa_IR",
    "timezone": "Asia/Tehran",
    "country": "IR",
    "birthday": "1990-03-21",
    "created_at": "2024-01-05T08:00:00Z",
}
WANG = {
    "id": "c-zh-1",
    "first_name": "娜",
    "last_name": "王",
    "email": "wang.na@example.cn",
    "phone": "+8613812345678",
    "locale": "zh_Hans_CN",
    "timezone": "Asia/Shanghai",
    "country": "CN",
    "birthday": "1985-02-10",
    "created_at": "2024-02-01T00:00:00+08:00",
}
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


def write(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> Path:
    """Write rows as CSV or JSON Lines, chosen by the path's extension."""
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    else:
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def first_line(fmt: str) -> int:
    """The line number of the first data row."""
    return 2 if fmt == "csv" else 1


def run(
    engine: Engine, kind: str, path: Path, clock: Callable[[], datetime] = lambda: NOW, **kw: Any
) -> ImportReport:
    return import_file(engine, Settings(), kind, path, clock=clock, today=TODAY, **kw)  # type: ignore[arg-type]


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
            for table in [SQLModel.metadata.tables[name]]
        }


def count(engine: Engine, table_name: str) -> int:
    table = SQLModel.metadata.tables[table_name]
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def customers(engine: Engine) -> dict[str, Any]:
    table = Customer.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        return {row.id: row for row in connection.execute(select(table))}


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


def test_problem_prints_as_file_row_field_reason(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", CUSTOMER_COLUMNS, [{**SARA, "phone": "0912 123 4567"}])
    (problem,) = run(engine, "customers", path).problems
    assert problem == Problem(str(path), 2, problem.message, "phone")
    assert str(problem) == f"{path}:2: phone: must be in international E.164 form, starting with +"


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


def test_missing_header_column_names_file_and_column(engine: Engine, tmp_path: Path) -> None:
    columns = [c for c in CUSTOMER_COLUMNS if c != "timezone"]
    path = write(tmp_path / "no-tz.csv", columns, [SARA])
    with pytest.raises(ImportFileError) as caught:
        run(engine, "customers", path)
    message = str(caught.value)
    assert str(path) in message
    assert "missing required column: timezone" in message
    assert count(engine, "customer") == 0


def test_several_missing_columns_are_all_named(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "o.csv", ["id", "sku", "quantity"], [])
    with pytest.raises(ImportFileError, match="customer_id, amount, currency, ordered_at"):
        run(engine, "orders", path)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("people.txt", "id\n", "unknown file type '.txt'"),
        ("absent.csv", None, "file not found"),
        ("empty.csv", "", "no header row"),
        ("twice.csv", "id,locale,timezone,id\n", "more than once: id"),
    ],
)
def test_unreadable_files_raise(
    engine: Engine, tmp_path: Path, name: str, content: str | None, expected: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ImportFileError, match=expected) as caught:
        run(engine, "customers", path)
    assert str(path) in str(caught.value)


def test_extra_columns_are_ignored_and_reported(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", [*CUSTOMER_COLUMNS, "loyalty_points"], [SARA])
    report = run(engine, "customers", path)
    assert (report.accepted, report.ignored_columns) == (1, ["loyalty_points"])


def test_csv_rows_are_physical_line_numbers(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(
        "\ufeffid,first_name,locale,timezone\r\n"
        'c-1,"two\r\nlines",fa_IR,Asia/Tehran\r\n'  # lines 2-3: a name with a line break
        "\r\n"  # line 4: blank, skipped
        "c-2,سارا,fa_IR,Asia/Tehran,extra\r\n"  # line 5: one value too many
        "c-3,سارا,fa_IR,Nowhere\r\n".encode()  # line 6
        + b"c-4,\xff\xfe,fa_IR,Asia/Tehran\r\n"  # line 7: not UTF-8
        + "c-5,王,zh_CN,Asia/Shanghai\r\n".encode()  # line 8
    )
    report = run(engine, "customers", path)
    assert [(p.line, p.field) for p in report.problems] == [
        (2, "first_name"),
        (5, None),
        (6, "timezone"),
        (7, None),
    ]
    assert "header has 4 columns" in report.problems[1].message
    assert "UTF-8" in report.problems[3].message
    assert set(customers(engine)) == {"c-5"}


def test_jsonl_bad_lines_are_bad_rows(engine: Engine, tmp_path: Path) -> None:
    good = json.dumps(SARA, ensure_ascii=False)
    path = tmp_path / "c.ndjson"
    path.write_bytes(
        "\n".join(
            [
                good,  # 1
                "",  # 2: blank, skipped
                '["c-2", "fa_IR"]',  # 3
                '{"id": "c-3", "locale": ',  # 4
                json.dumps({"id": "c-4", "locale": "fa_IR"}),  # 5: no timezone
                json.dumps({**WANG, "first_name": {"nested": 1}, "id": 7}),  # 6
            ]
        ).encode()
        + b"\n\xff\n"  # 7
    )
    report = run(engine, "customers", path)
    assert [(p.line, p.field, p.message) for p in report.problems] == [
        (3, None, "not a JSON object"),
        (4, None, report.problems[1].message),
        (5, "timezone", "is required"),
        (6, "first_name", "must be a string or a number"),
        (7, None, "is not UTF-8 text"),
    ]
    assert report.problems[1].message.startswith("not valid JSON")
    assert report.rows_read == 6
    assert set(customers(engine)) == {"c-fa-1"}


def test_problem_list_is_capped_but_counted(engine: Engine, tmp_path: Path) -> None:
    rows = [{**SARA, "id": f"c-{n}", "timezone": "Nowhere"} for n in range(25)]
    report = run(
        engine, "customers", write(tmp_path / "c.csv", CUSTOMER_COLUMNS, rows), max_problems=10
    )
    assert (report.rejected, len(report.problems), report.problems_not_listed) == (25, 10, 15)
    assert report.problem_lines()[-1] == "... and 15 more problems not listed"


@pytest.mark.parametrize("fmt", FORMATS)
def test_big_file_is_imported_in_batches(engine: Engine, tmp_path: Path, fmt: str) -> None:
    total = 20_000
    path = tmp_path / f"big.{fmt}"
    bad = set(range(0, total, 997))

    def row(n: int) -> dict[str, Any]:
        person = SARA if n % 2 else WANG
        return {
            **person,
            "id": f"big-{n:06d}",
            "email": f"customer{n}@example.com",
            "timezone": "Nowhere/Land" if n in bad else person["timezone"],
        }

    # Written row by row, so the test holds one row at a time as the importer should.
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=CUSTOMER_COLUMNS)
            writer.writeheader()
            for n in range(total):
                writer.writerow(row(n))
    else:
        with path.open("w", encoding="utf-8") as handle:
            for n in range(total):
                handle.write(json.dumps(row(n), ensure_ascii=False) + "\n")

    calls: list[tuple[int, int]] = []
    report = run(engine, "customers", path, progress=lambda done, size: calls.append((done, size)))

    assert (report.rows_read, report.rejected) == (total, len(bad))
    assert report.accepted == report.inserted == total - len(bad)
    assert count(engine, "customer") == total - len(bad)
    assert sorted(p.line for p in report.problems) == [n + first_line(fmt) for n in sorted(bad)]
    size = path.stat().st_size
    assert len(calls) >= total // 1000
    assert calls[0] == (0, size) and calls[-1] == (size, size)
    assert [done for done, _ in calls] == sorted({done for done, _ in calls})


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
    table = Order.__table__  # type: ignore[attr-defined]
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
        amount = connection.execute(select(Order.__table__.c.amount)).scalar_one()  # type: ignore[attr-defined]
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
