"""An unknown column name or JSON Lines key is named by its first 64 characters.

The warning naming columns the import ignores printed each name whole: three JSON
Lines rows with a 3 MB key each wrote 9 MB of warnings to the terminal (and into
``--json``); twenty such keys, the most named, would write 80 MB. A longer name is cut
to 64 characters and marked with '...', enough to find it in the file.
"""

from __future__ import annotations

import io
import json

from rapport.engine.customers import rows
from rapport.engine.customers.rows import Column

COLUMNS = (Column("id", str, required=True),)
LONG = "notes_" + "x" * 100_000


def test_a_long_unknown_csv_column_is_named_by_its_first_64_characters() -> None:
    ignored: list[str] = []
    data = f"id,{LONG},points\nc-1,a,1\n".encode()
    read = list(rows.csv_rows(io.BytesIO(data), "c.csv", COLUMNS, ignored))
    assert [row.values["id"] for row in read] == ["c-1"]
    assert ignored == [LONG[:64] + "...", "points"]


def test_a_long_unknown_json_key_is_named_once_by_its_first_64_characters() -> None:
    ignored: list[str] = []
    lines = [json.dumps({"id": f"c-{n}", LONG: 1, "points": 1}) for n in range(3)]
    data = "\n".join(lines).encode() + b"\n"
    read = list(rows.jsonl_rows(io.BytesIO(data), "c.jsonl", COLUMNS, ignored))
    assert [row.values["id"] for row in read] == ["c-0", "c-1", "c-2"]
    assert ignored == [LONG[:64] + "...", "points"]
