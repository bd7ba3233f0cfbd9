"""Reading import files: CSV and JSON Lines, their headers, lines and size.

A problem names the file, the line and the field; a missing or repeated column, an
unknown file type, an absent or empty file stop the import; extra columns are ignored
and reported; CSV rows are numbered by physical line (quoted line breaks, blank lines,
bytes that are not UTF-8), JSON Lines that are not an object are bad rows; the list of
problems is capped; a large file is imported in batches with progress. What each kind
of row becomes is tested in ``test_import_records.py``.

Every database test runs on SQLite and PostgreSQL (the ``engine`` fixture in
tests/conftest.py). Row numbers are physical line numbers: in CSV the header is line 1.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from rapport.engine.core.errors import ImportFileError, Problem
from rapport.engine.customers import rows
from rapport.engine.customers.rows import Column
from tests.engine.customers.conftest import (
    CUSTOMER_COLUMNS,
    FORMATS,
    SARA,
    WANG,
    count,
    customers,
    first_line,
    run,
    write,
)

#: One column, for reading rows without the importer.
COLUMNS = (Column("id", str, required=True),)


def test_problem_prints_as_file_row_field_reason(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", CUSTOMER_COLUMNS, [{**SARA, "phone": "0912 123 4567"}])
    (problem,) = run(engine, "customers", path).problems
    assert problem == Problem(str(path), 2, problem.message, "phone")
    assert str(problem) == f"{path}:2: phone: must be in international E.164 form, starting with +"


def test_missing_header_column_names_file_and_column(engine: Engine, tmp_path: Path) -> None:
    columns = [c for c in CUSTOMER_COLUMNS if c != "timezone"]
    path = write(tmp_path / "no-tz.csv", columns, [SARA])
    with pytest.raises(ImportFileError) as caught:
        run(engine, "customers", path)
    message = str(caught.value)
    assert str(path) in message
    assert "missing required column: timezone" in message
    assert count(engine, "customer") == 0


@pytest.mark.parametrize(("separator", "named"), [(";", "';'"), ("\t", "a tab")])
def test_a_header_split_by_another_separator_says_so(
    engine: Engine, tmp_path: Path, separator: str, named: str
) -> None:
    """Spreadsheets in many European locales save 'CSV' with semicolons, and some tools
    with tabs. The header then is one column, and 'missing required columns: id,
    locale, timezone' named columns the operator could see in it."""
    path = tmp_path / "c.csv"
    path.write_text(separator.join(["id", "locale", "timezone"]) + "\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        run(engine, "customers", path)
    assert f"values are separated by {named}, not commas" in str(caught.value)


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


def test_csv_with_carriage_return_line_ends_imports_every_row(
    engine: Engine, tmp_path: Path
) -> None:
    """Spreadsheets on older Macs end CSV lines with a lone CR, and files pasted
    together mix CR, LF and CRLF. Each is a line end, as Python's own universal
    newlines and every spreadsheet read them: before, a lone CR was read as text inside
    a field, so the whole file was refused ('unreadable header: new-line character seen
    in unquoted field - do you need to open the file in universal-newline mode?') or
    valid rows were merged into one rejected row."""
    path = tmp_path / "c.csv"
    path.write_bytes(
        "id,first_name,locale,timezone\r"  # line 1, old-Mac line end
        "c-1,سارا,fa_IR,Asia/Tehran\r"  # 2
        "c-2,王,zh_CN,Asia/Shanghai\r\n"  # 3
        "c-3,Emma,en_US,Nowhere\n"  # 4: a bad time zone, named at its line
        'c-4,"Smith, Jr.",en_US,UTC\r'.encode()  # 5
    )
    report = run(engine, "customers", path)
    assert [(p.line, p.field) for p in report.problems] == [(4, "timezone")]
    assert set(customers(engine)) == {"c-1", "c-2", "c-4"}


def test_csv_quoted_carriage_return_stays_one_row(engine: Engine, tmp_path: Path) -> None:
    """A lone CR inside quotes is part of its field (refused in a name, as every line
    break is), and the rows after it keep their physical line numbers."""
    path = tmp_path / "c.csv"
    path.write_bytes(
        b"id,first_name,locale,timezone\r"
        b'c-1,"two\rlines",en_US,UTC\r'  # lines 2-3
        b"c-2,Emma,en_US,Nowhere\r"  # line 4
    )
    report = run(engine, "customers", path)
    assert [(p.line, p.field) for p in report.problems] == [(2, "first_name"), (4, "timezone")]


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


def test_jsonl_files_joined_together_keep_the_row_after_each_byte_order_mark(
    engine: Engine, tmp_path: Path
) -> None:
    """Windows tools start each export with a byte-order mark, so files joined with
    `cat` have one at the start of a later line. It was refused ('not valid JSON:
    Unexpected UTF-8 BOM (decode using utf-8-sig)') and a valid row was lost."""
    one, two = (json.dumps(row, ensure_ascii=False) for row in (SARA, WANG))
    path = tmp_path / "joined.jsonl"
    path.write_bytes(f"\ufeff{one}\n\ufeff{two}\n".encode())
    report = run(engine, "customers", path)
    assert report.problems == []
    assert set(customers(engine)) == {"c-fa-1", "c-zh-1"}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_jsonl_nan_or_infinity_is_refused_naming_the_field(
    engine: Engine, tmp_path: Path, constant: str
) -> None:
    """NaN and Infinity are not JSON numbers, though Python's parser takes them: before,
    '"first_name": NaN' was stored as the name 'nan'."""
    path = tmp_path / "c.jsonl"
    without = {key: value for key, value in SARA.items() if key != "last_name"}
    good = json.dumps({**without, "first_name": "x"}, ensure_ascii=False)
    path.write_text(good[:-1] + f', "last_name": {constant}}}\n', encoding="utf-8")
    report = run(engine, "customers", path)
    assert [(p.line, p.field) for p in report.problems] == [(1, "last_name")]
    assert "NaN" in report.problems[0].message
    assert count(engine, "customer") == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_line_over_the_limit_is_one_bad_row_and_the_rest_imports(
    engine: Engine, tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CRM that exports a JSON array, not JSON Lines, writes the whole export on one
    line. It is one bad row named by its line, read without being held: the rows
    around it import and keep their line numbers."""
    monkeypatch.setattr(rows, "MAX_LINE_BYTES", 4096)
    path = write(tmp_path / f"c.{fmt}", CUSTOMER_COLUMNS, [SARA, WANG])
    lines = path.read_bytes().splitlines(keepends=True)
    huge = (json.dumps([SARA] * 200) if fmt == "jsonl" else "x," * 3000).encode() + b"\n"
    first = first_line(fmt)
    path.write_bytes(b"".join([*lines[:first], huge, *lines[first:]]))
    report = run(engine, "customers", path)
    assert [(p.line, p.field) for p in report.problems] == [(first + 1, None)]
    assert "longer than 4096 bytes" in report.problems[0].message
    assert set(customers(engine)) == {"c-fa-1", "c-zh-1"}


def test_a_dropped_line_ending_in_cr_at_a_block_end_keeps_the_next_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The too-long line's CR came last in a block, held back as the possible start of
    a CRLF when the line was dropped: the next line was dropped with it. Lines are
    compared with Python's universal newlines, block and line limit made tiny."""
    monkeypatch.setattr(rows, "_BLOCK_BYTES", 4)
    monkeypatch.setattr(rows, "MAX_LINE_BYTES", 10)
    data = b"abxxxxxxx\xc3\xa9\rxxxxxxx\r\n\r\naaa"
    lines = list(rows.physical_lines(io.BytesIO(data), universal=True))
    assert lines == [None, b"xxxxxxx\r\n", b"\r\n", b"aaa"]


def test_a_one_line_json_array_is_read_in_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, the whole line was read and parsed: a 100 MB array took 730 MB of
    memory, a 1 GB export would take the machine down, though the page promises memory
    stays small whatever the file's size."""
    path = tmp_path / "c.jsonl"
    with path.open("wb") as handle:
        handle.write(b"[")
        for _ in range(200):
            handle.write(json.dumps([SARA] * 500, ensure_ascii=False).encode()[1:-1] + b",")
        handle.write(b"{}]\n")
    assert path.stat().st_size > 20_000_000
    monkeypatch.setattr(rows, "MAX_LINE_BYTES", 1 << 20)
    tracemalloc.start()
    try:
        with path.open("rb") as handle:
            (row,) = list(rows.jsonl_rows(handle, "c.jsonl", COLUMNS, []))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(p.line, p.field) for p in row.problems] == [(1, None)]
    assert peak < 4 * rows.MAX_LINE_BYTES


def test_a_named_pipe_is_read_like_a_file(engine: Engine, tmp_path: Path) -> None:
    """A pipe named customers.csv (an export streamed straight from another program)
    cannot tell its position: the progress counter's tell() failed the whole import
    with 'error: Illegal seek', exit 3."""
    path = tmp_path / "c.csv"
    os.mkfifo(path)
    text = "id,locale,timezone\nc-1,fa_IR,Asia/Tehran\n"
    writer = threading.Thread(target=path.write_text, args=(text,), kwargs={"encoding": "utf-8"})
    writer.start()
    try:
        report = run(engine, "customers", path)
    finally:
        writer.join(timeout=10)
    assert (report.rows_read, report.accepted, report.problems) == (1, 1, [])


def test_problem_list_is_capped_but_counted(engine: Engine, tmp_path: Path) -> None:
    rows = [{**SARA, "id": f"c-{n}", "timezone": "Nowhere"} for n in range(25)]
    report = run(
        engine, "customers", write(tmp_path / "c.csv", CUSTOMER_COLUMNS, rows), max_problems=10
    )
    assert (report.rejected, len(report.problems), report.problems_not_listed) == (25, 10, 15)
    assert report.problem_lines()[-1] == "... and 15 more problems not listed"


@pytest.mark.parametrize("fmt", FORMATS)
def test_big_file_is_imported_in_batches(engine: Engine, tmp_path: Path, fmt: str) -> None:
    total = 5_000  # five batches of the importer's 1,000 rows, a progress call each
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
