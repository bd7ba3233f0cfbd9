"""A command's output file is never the configuration or the SQLite store it reads:
``rapport report --html var/rapport.db`` (a path completed one word too far) replaced
the database with an HTML page, and ``--html config.yaml`` the configuration. Refused
as a usage mistake naming the option, the file left as it was; any other file is
written as before.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import run_rapport


@pytest.fixture
def store(tmp_path: Path) -> Path:
    assert run_rapport("init", ".", cwd=tmp_path).returncode == 0
    assert run_rapport("db", "upgrade", cwd=tmp_path).returncode == 0
    assert (tmp_path / "var" / "rapport.db").exists()
    return tmp_path


COMMANDS = [
    ("report", "--html"),
    ("preview", "birthday", "--html"),
    ("customers", "export", "C-1", "-o"),
]
OWN = ["config.yaml", "var/rapport.db", "./var/../var/rapport.db"]


@pytest.mark.parametrize("own", OWN)
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_command_never_writes_its_output_over_the_config_or_the_database(
    store: Path, command: tuple[str, ...], own: str
) -> None:
    target = store / own
    before = target.read_bytes()

    ran = run_rapport(*command, own, cwd=store)

    assert ran.returncode == 2, (ran.stdout, ran.stderr)
    assert "is this installation's own" in ran.stderr and command[-1] in ran.stderr
    assert target.read_bytes() == before


def test_a_report_is_still_written_to_any_other_file(store: Path) -> None:
    ran = run_rapport("report", "--html", "report.html", cwd=store)

    assert ran.returncode == 0, ran.stderr
    assert (store / "report.html").read_text(encoding="utf-8").startswith("<!")
