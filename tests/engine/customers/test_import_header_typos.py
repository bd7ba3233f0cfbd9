"""A CSV header that misspells a required column stops the import naming the column it
misses, and now the name in the header that looks meant for it: 'missing required
column: timezone' alone left the operator to spot 'time_zone' or 'timezon' in a header
of twenty names, which the import had also quietly counted as unknown."""

from __future__ import annotations

import io

import pytest

from rapport.engine.core.errors import ImportFileError
from rapport.engine.customers import rows
from rapport.engine.customers.rows import Column

COLUMNS = (
    Column("id", str, required=True),
    Column("email", str),
    Column("locale", str, required=True),
    Column("timezone", str, required=True),
)


def refusal(header: str) -> str:
    with pytest.raises(ImportFileError) as caught:
        list(rows.csv_rows(io.BytesIO(header.encode() + b"\n"), "c.csv", COLUMNS, []))
    (problem,) = caught.value.problems
    return str(problem)


@pytest.mark.parametrize("written", ["time_zone", "Timezon", "time zone", "timezones"])
def test_a_misspelt_required_column_is_named_with_the_missing_one(written: str) -> None:
    assert refusal(f"id,email,locale,{written}") == (
        "c.csv:1: missing required column: timezone (required: id, locale, timezone); "
        f"is '{written.lower()}' meant to be timezone?"
    )


def test_a_missing_column_with_nothing_like_it_is_only_named() -> None:
    assert refusal("id,email,locale,loyalty_points") == (
        "c.csv:1: missing required column: timezone (required: id, locale, timezone)"
    )


def test_a_misspelt_column_is_named_beside_a_missing_one_with_nothing_like_it() -> None:
    assert refusal("identifier,email,lokale,timezone").endswith("is 'lokale' meant to be locale?")
