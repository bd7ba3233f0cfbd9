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


# Every file the configuration names is the installation's own, not only the
# configuration and the store: a campaign or a template (existing or not: a new
# campaigns/x.yaml is read as a campaign), the signing key's file (existing or not).
NAMED = [
    "campaigns/birthday.yaml",
    "campaigns/new.yaml",
    "templates/birthday/en/email.txt",
    "templates/notes.html",
    "var/secret.key",
]


@pytest.mark.parametrize("named", NAMED)
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_command_never_writes_its_output_over_a_file_the_configuration_names(
    store: Path, command: tuple[str, ...], named: str
) -> None:
    target = store / named
    before = target.read_bytes() if target.exists() else None

    ran = run_rapport(*command, named, cwd=store)

    assert ran.returncode == 2, (ran.stdout, ran.stderr)
    assert command[-1] in ran.stderr and named in ran.stderr
    assert "this installation's own" in ran.stderr
    assert (target.read_bytes() if target.exists() else None) == before


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_symbolic_link_is_judged_by_the_file_it_points_to(
    store: Path, command: tuple[str, ...]
) -> None:
    """A link to a campaign is refused as the campaign; a dangling link into the
    campaigns folder as the new campaign writing through it would make."""
    (store / "out.html").symlink_to(store / "campaigns" / "birthday.yaml")
    (store / "dangling.html").symlink_to(store / "campaigns" / "made.yaml")
    before = (store / "campaigns" / "birthday.yaml").read_bytes()

    for link in ("out.html", "dangling.html"):
        ran = run_rapport(*command, link, cwd=store)
        assert ran.returncode == 2, (link, ran.stdout, ran.stderr)
        assert "this installation's own" in ran.stderr and link in ran.stderr

    assert (store / "campaigns" / "birthday.yaml").read_bytes() == before
    assert not (store / "campaigns" / "made.yaml").exists()


def test_an_export_through_a_link_to_another_file_writes_that_file(store: Path) -> None:
    (store / "customers.csv").write_text(
        "id,email,locale,timezone\nC-1,c1@example.com,en,UTC\n", encoding="utf-8"
    )
    assert run_rapport("import", "customers", "customers.csv", cwd=store).returncode == 0
    (store / "exports").mkdir()
    (store / "latest.json").symlink_to(store / "exports" / "c1.json")

    ran = run_rapport("customers", "export", "C-1", "-o", "latest.json", cwd=store)

    assert ran.returncode == 0, ran.stderr
    assert '"C-1"' in (store / "exports" / "c1.json").read_text(encoding="utf-8")
