"""A CSV row whose quote is never closed takes the lines after it into itself (CSV lets
a quoted value hold line breaks), so the good rows on those lines are not imported.
The problem said only "has 2 values but the header has 4 columns" at the row's first
line, which holds four values to the eye: nothing said that the next lines were lost
with it. It now names the lines the row was read from."""

from __future__ import annotations

import io

from rapport.engine.customers import rows
from rapport.engine.customers.rows import Column

COLUMNS = (
    Column("id", str, required=True),
    Column("first_name", str),
    Column("locale", str),
    Column("timezone", str),
)


def problems_of(text: str) -> list[str]:
    read = rows.csv_rows(io.BytesIO(text.encode()), "c.csv", COLUMNS, [])
    return [str(problem) for row in read for problem in row.problems]


def test_a_row_with_an_unclosed_quote_names_the_lines_it_took_in() -> None:
    # The quote opened on line 2 is closed on line 4 (a quote still open at the end of
    # the file is another case: tests/engine/customers/test_import_quote_never_closed.py).
    text = 'id,first_name,locale,timezone\nq-1,"Sara,en,UTC\nq-2,Ali,en,UTC\nq-3,Reza"\n'

    assert problems_of(text) == [
        "c.csv:2: has 2 values but the header has 4 columns; it was read from line 2 to "
        "line 4 as one row (a quoted value holds line breaks, or a quote is never "
        "closed): none of those lines was imported"
    ]


def test_a_one_line_row_with_a_value_too_many_is_told_only_the_count() -> None:
    text = "id,first_name,locale,timezone\nq-1,Sara,en,UTC,extra\n"

    assert problems_of(text) == ["c.csv:2: has 5 values but the header has 4 columns"]
