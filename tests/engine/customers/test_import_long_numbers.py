"""A JSON Lines value Python refuses to read as a number is named as such.

A whole number of more than 4300 digits (sys.get_int_max_str_digits) is valid JSON,
which Python's parser refuses; the row was 'not valid JSON: value too large'. It is
one bad row saying what is too long, and the rows around it are read."""

from __future__ import annotations

import io
import sys

from rapport.engine.customers import rows
from rapport.engine.customers.rows import Column

COLUMNS = (Column("id", str, required=True),)


def test_a_number_of_more_digits_than_python_reads_is_one_bad_row_saying_so() -> None:
    limit = sys.get_int_max_str_digits()
    lines = [b'{"id": "a"}', b'{"id": "b", "points": ' + b"7" * (limit + 1) + b"}", b'{"id": "c"}']
    read = list(rows.jsonl_rows(io.BytesIO(b"\n".join(lines) + b"\n"), "c.jsonl", COLUMNS, []))
    assert [row.values.get("id") for row in read] == ["a", None, "c"]
    (problem,) = read[1].problems
    assert str(problem) == f"c.jsonl:2: not valid JSON: a number of more than {limit} digits"
