"""The import's summary line counts in English: "1 row read", "2 rows read". The JSON
document (``--json``) keeps its keys and numbers whatever the count."""

from __future__ import annotations

from rapport.engine.customers.importer import ImportReport


def test_one_row_read_is_singular() -> None:
    report = ImportReport("customers", "one.csv", rows_read=1, accepted=1, inserted=1)
    assert report.summary() == (
        "one.csv: 1 row read, 1 accepted (1 inserted, 0 updated, 0 unchanged), 0 rejected"
    )


def test_other_counts_of_rows_read_are_plural() -> None:
    assert ImportReport("orders", "none.csv").summary().startswith("none.csv: 0 rows read, ")
    report = ImportReport("orders", "two.csv", rows_read=2, accepted=2, unchanged=2)
    assert report.summary().startswith("two.csv: 2 rows read, ")
