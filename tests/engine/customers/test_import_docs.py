"""docs/import.md documents every column the importer reads, and its examples import.

The columns come from the importer itself (:func:`rapport.engine.customers.importer.
columns`, the one list it reads files with): each kind's table on the page must name
every column, say which are required as the importer does, and name no column the
importer does not read. Every example file on the page (a ```csv or ```jsonl block
whose info string names its kind) is imported with the real command into an empty
SQLite database, in the order customers, orders, consent, and must import with no
problem or warning at all; importing them again changes nothing. The page's sample of
what the command prints for a bad file and for unusable files is what it prints.

When a test here fails, its message names the columns to document.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from factories import REPO, run_rapport
from sqlalchemy import create_engine, select

from rapport.engine.core.config import Settings
from rapport.engine.core.models import CUSTOMER
from rapport.engine.customers.importer import KINDS, Kind, columns

DOC = REPO / "docs" / "import.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^## `(\w+)`", re.MULTILINE)
CODE = re.compile(r"`([^`]+)`")
NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
SUFFIX = {"csv": ".csv", "jsonl": ".jsonl"}


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def documented_columns() -> dict[str, dict[str, str]]:
    """kind -> column -> its 'required' cell, from the tables under each kind's heading."""
    found: dict[str, dict[str, str]] = {}
    kind, header = None, None
    for line in doc_text().splitlines():
        if line.startswith("## "):
            heading = HEADING.match(line)
            kind = heading[1] if heading else None
        if not line.startswith("|") or kind is None:
            header = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if header is None:
            header = cells if cells[0] == "column" else []
        elif header and not set(line) <= set("|-: "):
            row = dict(zip(header, cells, strict=False))
            name = CODE.fullmatch(row["column"])
            assert name, f"docs/import.md: a column cell is not one `name`: {row['column']!r}"
            found.setdefault(kind, {})[name[1]] = row["required"]
    return found


def examples() -> list[tuple[str, Kind, str]]:
    """(format, kind, text) of every example file, in the page's order."""
    found = []
    for info, body in FENCE.findall(doc_text()):
        words = info.split()
        if len(words) == 2 and words[0] in SUFFIX:
            assert words[1] in KINDS, f"docs/import.md: ```{info}: no such kind"
            found.append((words[0], words[1], body))
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_every_column_the_importer_reads_is_documented(kind: Kind) -> None:
    read = {column.name: column.required for column in columns(kind, Settings(), NOW.date(), NOW)}
    documented = documented_columns().get(kind, {})
    missing = [name for name in read if name not in documented]
    assert missing == [], (
        f"columns of {kind} the importer reads but docs/import.md does not document; add a "
        f"row '| `COLUMN` | type | required | allowed values and format | example |' under "
        f"'## `{kind}`' for each: " + ", ".join(missing)
    )
    stale = [name for name in documented if name not in read]
    assert stale == [], f"docs/import.md documents {kind} columns nobody reads: {stale}"
    wrong = [
        name for name, required in read.items() if documented[name] != ("yes" if required else "no")
    ]
    assert wrong == [], f"{kind}: the 'required' cell is wrong for: {', '.join(wrong)}"


@pytest.mark.parametrize("kind", KINDS)
def test_the_examples_show_every_column_in_both_formats(kind: Kind) -> None:
    names = {column.name for column in columns(kind, Settings(), NOW.date(), NOW)}
    found = {fmt: body for fmt, of, body in examples() if of == kind}
    assert set(found) == {"csv", "jsonl"}, f"docs/import.md: give {kind} in CSV and JSON Lines"
    header = set(found["csv"].splitlines()[0].split(","))
    keys = set(re.findall(r'"(\w+)": ', found["jsonl"]))
    assert (sorted(names - header), sorted(names - keys)) == ([], [])


@pytest.fixture
def store(tmp_path: Path, sqlite_template: Path) -> Path:
    """A folder with a config.yaml (the shipped channels and topics) over an empty,
    migrated SQLite database."""
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    (tmp_path / "config.yaml").write_text(
        "database: {url: 'sqlite:///rapport.db'}\n", encoding="utf-8"
    )
    return tmp_path


def rapport_import(store: Path, kind: str, name: str) -> tuple[int, list[str]]:
    ran = run_rapport("import", kind, name, "--config", "config.yaml", cwd=store)
    return ran.returncode, [*ran.stderr.splitlines(), *ran.stdout.splitlines()]


def test_the_examples_import_with_no_problem_and_again_with_no_change(store: Path) -> None:
    files = []
    for number, (fmt, kind, body) in enumerate(sorted(examples(), key=lambda e: KINDS.index(e[1]))):
        path = store / f"{kind}-{number}{SUFFIX[fmt]}"
        path.write_text(body, encoding="utf-8")
        files.append((kind, path.name, body.count("\n") - (fmt == "csv")))
    for kind, name, rows in files:
        code, output = rapport_import(store, kind, name)
        assert (code, output) == (
            0,
            [
                f"{kind}: {name}: {rows} rows read, {rows} accepted ({rows} inserted, 0 updated, "
                f"0 unchanged), 0 rejected"
            ],
        )
    for kind, name, rows in files:
        code, output = rapport_import(store, kind, name)
        assert (code, output[-1]) == (
            0,
            f"{kind}: {name}: {rows} rows read, {rows} accepted (0 inserted, 0 updated, "
            f"{rows} unchanged), 0 rejected",
        )
    engine = create_engine(f"sqlite:///{store / 'rapport.db'}")
    try:
        with engine.connect() as connection:
            stored = {row.id: row for row in connection.execute(select(CUSTOMER))}
    finally:
        engine.dispose()
    assert stored["c-fa-2"].phone == "+989351234567"  # Persian digits, spaces
    assert stored["c-fa-2"].last_name == "نیک\u200cنام"  # the zero-width non-joiner stays
    assert (stored["c-fa-2"].locale, stored["c-fa-2"].country) == ("fa_IR", "IR")
    assert stored["c-zh-2"].email == "li.wei@例子.中国"


def text_blocks() -> list[str]:
    return [body for info, body in FENCE.findall(doc_text()) if info.strip() == "text"]


def test_what_the_page_says_the_command_prints_is_what_it_prints(store: Path) -> None:
    (customers_csv,) = [
        body for fmt, kind, body in examples() if (fmt, kind) == ("csv", "customers")
    ]
    (store / "customers.csv").write_text(customers_csv, encoding="utf-8")
    assert rapport_import(store, "customers", "customers.csv")[0] == 0
    bad, printed, unusable = text_blocks()
    # The page cannot show the invisible override the bad file's second line holds.
    lines = bad.splitlines()
    lines[1] = lines[1].replace(",", ",\u202e", 1)
    (store / "bad.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert rapport_import(store, "customers", "bad.csv") == (1, printed.splitlines())

    (store / "orders.csv").write_text("id,sku,quantity\n", encoding="utf-8")
    (store / "orders.txt").write_text("", encoding="utf-8")
    for line in unusable.splitlines():
        name = line.split(":", 1)[0]
        assert rapport_import(store, "orders", name) == (1, [line])
