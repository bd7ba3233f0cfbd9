"""docs/import.md: a key the importer does not read is named in one warning, for JSON
Lines the first 20 such keys. The cap was checked once a line, so one line of 25
unknown keys (or of thousands, within the line's 4 MiB) named every one of them.
Every database test runs on SQLite and PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine

from rapport.engine.customers.rows import MAX_IGNORED_KEYS
from tests.engine.customers.conftest import SARA, WANG, customers, run


def test_a_jsonl_line_of_many_unknown_keys_names_only_the_first_20(
    engine: Engine, tmp_path: Path
) -> None:
    extra = {f"k{i}": i for i in range(25)}
    path = tmp_path / "customers.jsonl"
    path.write_text(json.dumps({**SARA, **extra}) + "\n", encoding="utf-8")
    report = run(engine, "customers", path)
    assert MAX_IGNORED_KEYS == 20
    assert report.ignored_columns == [f"k{i}" for i in range(20)]
    assert set(customers(engine)) == {SARA["id"]}


def test_unknown_keys_over_several_jsonl_lines_are_named_once_up_to_20(
    engine: Engine, tmp_path: Path
) -> None:
    first = {f"a{i}": i for i in range(15)}
    second = {"a0": 0, **{f"b{i}": i for i in range(15)}}
    path = tmp_path / "customers.jsonl"
    lines = [json.dumps({**SARA, **first}), json.dumps({**WANG, **second})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = run(engine, "customers", path)
    assert report.ignored_columns == [f"a{i}" for i in range(15)] + [f"b{i}" for i in range(5)]
    assert set(customers(engine)) == {SARA["id"], WANG["id"]}
