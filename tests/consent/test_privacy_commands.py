"""The data-subject commands: ``rapport customers export`` and ``rapport customers
erase``, run on a migrated SQLite store holding the two customers of ``conftest.py``.
What export and erasure do is tested in ``test_export_and_erasure.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from factories import REPO, Ran, run_rapport

from tests.consent.conftest import (
    CONSENT_JSONL,
    CUSTOMERS_CSV,
    EMAIL,
    FIRST,
    LAST,
    ORDERS_CSV,
    PHONE,
)

RAPPORT = str(Path(sys.executable).parent / "rapport")


# -- CLI ------------------------------------------------------------------------------
def run(*args: str, cwd: Path) -> Ran:
    """``rapport ARGS`` in this process, stdin not a terminal (the pty test below runs
    the console script as a real process on a terminal)."""
    return run_rapport(*args, cwd=cwd)


@pytest.fixture
def workdir(tmp_path: Path, sqlite_template: Path) -> Path:
    """A migrated SQLite store holding the two customers, their orders and consent."""
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    (tmp_path / "config.yaml").write_text(
        textwrap.dedent(
            f"""\
            database: {{url: "sqlite:///rapport.db"}}
            campaigns_dir: {REPO / "campaigns"}
            templates_dir: {REPO / "templates"}
            """
        ),
        encoding="utf-8",
    )
    assert run("db", "upgrade", cwd=tmp_path).returncode == 0
    for kind, name, text in (
        ("customers", "customers.csv", CUSTOMERS_CSV),
        ("orders", "orders.csv", ORDERS_CSV),
        ("consent", "consent.jsonl", CONSENT_JSONL),
    ):
        (tmp_path / name).write_text(text, encoding="utf-8")
        result = run("import", kind, name, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    return tmp_path


def stored_customer(workdir: Path, customer_id: str) -> tuple[Any, ...]:
    with sqlite3.connect(workdir / "rapport.db") as db:
        return db.execute(
            "select first_name, last_name, email, phone from customer where id = ?",
            (customer_id,),
        ).fetchone()


def test_cli_export_prints_readable_json_or_writes_a_private_file(workdir: Path) -> None:
    result = run("customers", "export", "FA1", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert FIRST in result.stdout  # ensure_ascii=False: Persian stays readable
    assert result.stdout.startswith("{\n  ")  # indented
    data = json.loads(result.stdout)
    assert data["customer"]["email"] == EMAIL
    assert len(data["consent"]["evidence"]) == 2

    target = workdir / "export.json"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o644)
    result = run("customers", "export", "FA1", "--output", "export.json", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text(encoding="utf-8"))["customer"]["last_name"] == LAST
    assert FIRST not in result.stdout + result.stderr


def test_cli_export_into_a_missing_folder_is_the_users_mistake_naming_output(
    workdir: Path,
) -> None:
    """As report --html: it was 'error: No such file or directory: ...', exit 3."""
    result = run("customers", "export", "FA1", "-o", "no-such-folder/x.json", cwd=workdir)
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        "error: --output: cannot write no-such-folder/x.json: No such file or directory\n"
    )
    assert FIRST not in result.stdout + result.stderr


def test_cli_unknown_customer_exits_1(workdir: Path) -> None:
    for command in (("export", "NOBODY"), ("erase", "NOBODY", "--yes")):
        result = run("customers", *command, cwd=workdir)
        assert result.returncode == 1
        assert "NOBODY" in result.stderr and "Traceback" not in result.stderr


def test_cli_erase_without_yes_and_without_a_terminal_refuses(workdir: Path) -> None:
    result = run("customers", "erase", "FA1", cwd=workdir)
    assert result.returncode == 2
    assert "--yes" in result.stderr and "Traceback" not in result.stderr
    assert stored_customer(workdir, "FA1") == (FIRST, LAST, EMAIL, PHONE)


def test_cli_erase_with_yes_prints_counts_only(workdir: Path) -> None:
    result = run("customers", "erase", "FA1", "--yes", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "erased" in result.stdout and "1 order kept" in result.stdout
    for personal in (FIRST, LAST, EMAIL, PHONE):
        assert personal not in result.stdout + result.stderr
    assert stored_customer(workdir, "FA1") == ("", "", None, None)
    assert stored_customer(workdir, "EN1")[2] == "alex@example.com"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
@pytest.mark.parametrize(
    ("answer", "expected"), [("n", (FIRST, LAST, EMAIL, PHONE)), ("y", ("", "", None, None))]
)
def test_cli_erase_on_a_terminal_asks_first(
    workdir: Path, answer: str, expected: tuple[Any, ...]
) -> None:
    import pty

    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [RAPPORT, "customers", "erase", "FA1"],
            cwd=workdir,
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")},
        )
        os.write(leader, f"{answer}\n".encode())
        out, err = process.communicate(timeout=120)
    finally:
        os.close(leader)
        os.close(follower)
    assert (b"Erase" in out + err) and b"Traceback" not in err
    assert process.returncode == (0 if answer == "y" else 3)
    assert stored_customer(workdir, "FA1") == expected
