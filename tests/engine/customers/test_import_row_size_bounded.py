"""A CSV row read across many lines is bounded as a physical line is (4 MiB).

A physical line longer than ``MAX_LINE_BYTES`` is one bad row read without being kept,
but a quoted value may hold line breaks, so one row of short lines (``"a<LF>b",``
written three million times, 18 MB) was held whole by the csv module: 3,000,001 cells,
270 MB of memory, and a 100 MB file would take well over a gigabyte. Such a row is one
bad row as soon as it passes the limit, named at its first line; the rows after it are
read. Lines that were not UTF-8 inside a refused row were remembered for the whole
import (a 14 MB file of them held 720 MB). Memory is counted with tracemalloc, the
limits made small.
"""

from __future__ import annotations

import csv
import io
import tracemalloc
from collections import deque
from collections.abc import Iterator

import pytest

from rapport.engine.core.errors import ImportFileError
from rapport.engine.customers import rows
from rapport.engine.customers.rows import Column

COLUMNS = (Column("id", str, required=True), Column("locale", str), Column("timezone", str))
LIMIT = 1 << 16


def _last_row_and_peak(data: bytes) -> tuple[rows.Row, int]:
    """The last row of a CSV file and the most memory reading its rows one at a time
    took, in bytes."""
    tracemalloc.start()
    try:
        last = deque(rows.csv_rows(io.BytesIO(data), "c.csv", COLUMNS, []), maxlen=1)[0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return last, peak


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(rows, "MAX_LINE_BYTES", LIMIT)
    yield


def test_a_row_of_quoted_line_breaks_past_the_line_limit_is_one_bad_row(small_limit: None) -> None:
    bomb = b'"a\nb",' * (LIMIT // 6 + 100) + b"x\n"
    data = b"id,locale,timezone\nc-1,en,UTC\n" + bomb + b"c-2,en,UTC\n"
    read = list(rows.csv_rows(io.BytesIO(data), "c.csv", COLUMNS, []))

    first, bad, *rest = read
    assert first.values["id"] == "c-1" and not first.problems
    (problem,) = bad.problems
    assert (problem.line, problem.field) == (3, None)
    assert problem.message.startswith(f"is longer than {LIMIT} bytes, more than any row can be")
    assert "read from line 3 to line" in problem.message
    last = rest[-1]
    assert (last.values.get("id"), last.line, last.problems) == ("c-2", bomb.count(b"\n") + 3, [])


def test_a_quoting_bomb_is_read_in_memory_bounded_by_the_line_limit(small_limit: None) -> None:
    bomb = b'"a\nb",' * 200_000 + b"x\n"  # 1.2 MB, 200,001 cells in one row
    _, peak = _last_row_and_peak(b"id,locale,timezone\n" + bomb)
    assert peak < 32 * LIMIT


def test_lines_not_utf8_inside_refused_rows_are_not_kept() -> None:
    """Each block opens a quote that runs into the csv module's field limit (made 600
    characters here) over lines that are not UTF-8; before, each such line's number
    was kept until the end of the import."""
    block = b'"' + b"\xff\n" * 400
    data = b"id,locale,timezone\n" + block * 150 + b"c-2,en,UTC\n"
    before = csv.field_size_limit(600)
    try:
        last, peak = _last_row_and_peak(data)
    finally:
        csv.field_size_limit(before)
    assert (last.values.get("id"), last.problems) == ("c-2", [])
    assert peak < 1_000_000


def test_a_header_of_quoted_line_breaks_past_the_line_limit_stops_the_import(
    small_limit: None,
) -> None:
    header = b"id,locale,timezone," + b'"a\nb",' * (LIMIT // 6 + 100) + b"x\n"
    with pytest.raises(ImportFileError) as caught:
        list(rows.csv_rows(io.BytesIO(header + b"c-1,en,UTC\n"), "c.csv", COLUMNS, []))
    assert str(caught.value) == (
        f"c.csv:1: header is longer than {LIMIT} bytes, more than any header can be (a "
        "quoted name holds line breaks, or a quote is never closed)"
    )
