"""What the two import test modules share: the clock, the customer columns, two
customers (Sara in Tehran, Wang Na in Shanghai) and the helpers that write a file,
import it and read back what was stored.

``test_import_records.py`` tests what each kind of row becomes, ``test_import_files.py``
how the files are read. The test modules import these from
``tests.engine.customers.conftest`` (the name pytest gives this file).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from rapport.engine.core.config import Settings
from rapport.engine.core.models import CUSTOMER, METADATA
from rapport.engine.customers.importer import ImportReport, import_file

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
CUSTOMER_COLUMNS = [
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "locale",
    "timezone",
    "country",
    "birthday",
    "created_at",
]
FORMATS = ["csv", "jsonl"]

SARA = {
    "id": "c-fa-1",
    "first_name": "سارا",
    "last_name": "رضایی",
    "email": "sara@example.com",
    "phone": "+989121234567",
    "locale": "fa_IR",
    "timezone": "Asia/Tehran",
    "country": "IR",
    "birthday": "1990-03-21",
    "created_at": "2024-01-05T08:00:00Z",
}
WANG = {
    "id": "c-zh-1",
    "first_name": "娜",
    "last_name": "王",
    "email": "wang.na@example.cn",
    "phone": "+8613812345678",
    "locale": "zh_Hans_CN",
    "timezone": "Asia/Shanghai",
    "country": "CN",
    "birthday": "1985-02-10",
    "created_at": "2024-02-01T00:00:00+08:00",
}


def write(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> Path:
    """Write rows as CSV or JSON Lines, chosen by the path's extension."""
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    else:
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def first_line(fmt: str) -> int:
    """The line number of the first data row."""
    return 2 if fmt == "csv" else 1


def run(
    engine: Engine, kind: str, path: Path, clock: Callable[[], datetime] = lambda: NOW, **kw: Any
) -> ImportReport:
    return import_file(engine, Settings(), kind, path, clock=clock, today=TODAY, **kw)  # type: ignore[arg-type]


def count(engine: Engine, table_name: str) -> int:
    table = METADATA.tables[table_name]
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def customers(engine: Engine) -> dict[str, Any]:
    table = CUSTOMER
    with engine.connect() as connection:
        return {row.id: row for row in connection.execute(select(table))}
