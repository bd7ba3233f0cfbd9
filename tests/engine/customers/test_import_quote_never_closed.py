"""A CSV quote that is never closed is one bad row, and the lines after it are read as
rows (docs/import.md: a bad row never stops the import, the good rows are kept).

CSV lets a quoted value hold line breaks, so a quote opened and never closed takes every
line to the end of the file into its value. When that value was in a column the
importer does not read (a `notes` column at the end of a CRM export), the row was
imported and the rest of the file with it, silently: "2 rows read, 2 accepted", exit 0,
47 customers missing. In a column it reads, the row was refused for that column
("first_name: longer than 200 characters") with nothing said of the lines it took in.
A quote still open at the end of the file is now refused at the line it was opened on,
and reading goes on from the next line.
"""

from __future__ import annotations

import io
from functools import partial

from rapport.engine.customers import fields, rows
from rapport.engine.customers.rows import Column

COLUMNS = (
    Column("id", str, required=True),
    Column("first_name", str),
    Column("locale", str),
    Column("timezone", str),
)

NEVER_CLOSED = (
    "c.csv:{line}: a quote opened on this line is never closed, so it took every line "
    'after it into its value: close it, or write a quote inside a value as two ("")'
)


def read(text: str) -> list[rows.Row]:
    return list(rows.csv_rows(io.BytesIO(text.encode()), "c.csv", COLUMNS, []))


def ids_and_problems(text: str) -> tuple[list[str], list[str]]:
    read_rows = read(text)
    ids = [row.values["id"] for row in read_rows if not row.problems]
    return ids, [str(problem) for row in read_rows for problem in row.problems]


def test_a_quote_never_closed_in_an_ignored_column_loses_no_row_after_it() -> None:
    lines = ["id,locale,timezone,notes", "n-1,en,UTC,ok", 'n-2,en,UTC,"VIP']
    lines += [f"n-{i},en,UTC,note {i}" for i in range(3, 50)]

    ids, problems = ids_and_problems("\n".join(lines) + "\n")

    assert problems == [NEVER_CLOSED.format(line=3)]
    assert ids == ["n-1"] + [f"n-{i}" for i in range(3, 50)]


def test_a_quote_never_closed_in_a_name_is_refused_at_its_line_and_the_rest_is_read() -> None:
    text = 'id,locale,timezone,first_name\nq-1,en,UTC,Ann\nq-2,en,UTC,"Bob\nq-3,en,UTC,Cy\n'

    ids, problems = ids_and_problems(text)

    assert problems == [NEVER_CLOSED.format(line=3)]
    assert ids == ["q-1", "q-3"]


def test_a_row_refused_for_a_value_it_read_across_lines_names_those_lines() -> None:
    """Two quotes opened on different lines close each other: the row runs from the
    first to the second, and its refusal (here: a name cannot hold line breaks) says
    that the lines between were read into it."""
    text = (
        "id,first_name,locale,timezone\n"
        'q-1,"Sara,en,UTC\n'
        "q-2,Ali,en,UTC\n"
        'q-3,Reza",en,UTC\n'
        "q-4,Mina,en,UTC\n"
    )
    name = Column("first_name", partial(fields.name, field="first_name"))
    named = (Column("id", str, required=True), name, Column("locale", str), Column("timezone", str))

    read_rows = list(rows.csv_rows(io.BytesIO(text.encode()), "c.csv", named, []))

    assert [str(problem) for row in read_rows for problem in row.problems] == [
        "c.csv:2: first_name: contains control characters or line breaks; it was read "
        "from line 2 to line 4 as one row (a quoted value holds line breaks, or a quote "
        "is never closed): none of those lines was imported"
    ]
    assert [row.values["id"] for row in read_rows if not row.problems] == ["q-4"]


def test_a_closed_quoted_value_holding_line_breaks_is_still_one_row() -> None:
    text = 'id,locale,timezone,notes\nn-1,en,UTC,"two\nlines"\nn-2,en,UTC,x\n'

    read_rows = read(text)

    assert [(row.line, row.values.get("id"), row.problems) for row in read_rows] == [
        (2, "n-1", []),
        (4, "n-2", []),
    ]
