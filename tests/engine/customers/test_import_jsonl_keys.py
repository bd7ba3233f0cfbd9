"""A JSON Lines row that names a key twice is a bad row, reported and skipped.

Which of two values a JSON parser keeps is the parser's choice (Python keeps the last,
others the first), so ``{"id": "X1", "id": "X2"}`` means nothing certain: the import
wrote customer X2 and said nothing of X1. The API refuses such a body (docs/api.md);
an import file reports the row, naming the key, and keeps the good rows.
Every database test runs on SQLite and PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine

from tests.engine.customers.conftest import SARA, WANG, customers, run


def test_a_jsonl_row_repeating_a_key_is_a_bad_row_naming_the_key(
    engine: Engine, tmp_path: Path
) -> None:
    twice = json.dumps(WANG)[:-1] + ', "id": "c-zh-2"}'
    path = tmp_path / "customers.jsonl"
    path.write_text(json.dumps(SARA) + "\n" + twice + "\n", encoding="utf-8")
    report = run(engine, "customers", path)
    assert [(p.line, p.field, p.message) for p in report.problems] == [
        (2, "id", 'the key "id" is written twice in this object; write it once'),
    ]
    assert report.rows_read == 2 and report.rejected == 1
    assert set(customers(engine)) == {SARA["id"]}


def test_a_key_repeated_in_an_ignored_column_is_a_bad_row_too(
    engine: Engine, tmp_path: Path
) -> None:
    """Even a key no column reads: a row that is not one object is not trusted."""
    twice = json.dumps(SARA)[:-1] + ', "note": 1, "note": 2}'
    path = tmp_path / "customers.jsonl"
    path.write_text(twice + "\n", encoding="utf-8")
    report = run(engine, "customers", path)
    assert [(p.line, p.field) for p in report.problems] == [(1, "note")]
    assert customers(engine) == {}
