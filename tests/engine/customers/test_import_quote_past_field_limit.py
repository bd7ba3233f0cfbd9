"""A CSV quote never closed in a large file takes the lines after it into one value until
that value passes the csv module's field limit (131072 characters), where the row is
refused: 'bad CSV: field larger than field limit (131072)'. Nothing said that the
thousands of good rows on those lines were not imported (a 20,001-row file read as
12,986 rows, one rejected). The problem names the lines the row was read from, as it
does for a row the quote took to the end of the file (test_import_unclosed_quote.py)."""

from __future__ import annotations

import csv
import io

from rapport.engine.customers import rows
from rapport.engine.customers.rows import Column

COLUMNS = (
    Column("id", str, required=True),
    Column("first_name", str),
    Column("locale", str),
    Column("timezone", str),
)


def test_a_quote_never_closed_past_the_field_limit_names_the_lines_it_took_in() -> None:
    good = [f"q-{number},Name{number},en,UTC\n" for number in range(1, 10_001)]
    text = 'id,first_name,locale,timezone\nq-0,"Sara,en,UTC\n' + "".join(good)
    read = list(rows.csv_rows(io.BytesIO(text.encode()), "c.csv", COLUMNS, []))

    first, *after = read
    (problem,) = first.problems
    taken = after[0].line - 1  # the last line the refused row was read from
    assert taken > 2
    assert str(problem) == (
        f"c.csv:2: bad CSV: field larger than field limit ({csv.field_size_limit()}); it "
        f"was read from line 2 to line {taken} as one row (a quoted value holds line "
        "breaks, or a quote is never closed): none of those lines was imported"
    )
    assert [row.line for row in after] == list(range(taken + 1, 10_003))
