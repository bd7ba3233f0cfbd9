"""A template that is a link out of the templates folder is refused by the commands
that read templates (campaigns validate, preview, plan), with its file and the reason,
and never read (issue 15, point 8).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from factories import REPO, run_rapport

RAPPORT = str(Path(sys.executable).parent / "rapport")


def test_validate_refuses_a_template_linked_out_of_the_folder(tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("the neighbour's password: hunter2\n", encoding="utf-8")
    (tmp_path / "campaigns").mkdir()
    shutil.copy(REPO / "campaigns" / "birthday.yaml", tmp_path / "campaigns")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    linked = tmp_path / "templates" / "birthday" / "en" / "email.txt"
    linked.unlink()
    linked.symlink_to(secret)
    (tmp_path / "config.yaml").write_text("database: {url: 'sqlite:///rapport.db'}\n")

    result = subprocess.run(
        [RAPPORT, "campaigns", "validate"], cwd=tmp_path, capture_output=True, text=True
    )

    assert result.returncode == 1
    assert "templates/birthday/en/email.txt: " in result.stderr
    assert "a link leading out of the templates folder" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


#: A day ahead, so the birthday greeting is still due when plan runs.
DAY = f"{date.today().year + 1}-03-21"


@pytest.fixture
def linked_project(tmp_path: Path, sqlite_template: Path) -> Path:
    """A project whose birthday e-mail body is a link to a secret outside templates/,
    and a customer with consent whose birthday is on DAY."""
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("the neighbour's password: hunter2 {{ 6 * 7 }}\n", encoding="utf-8")
    project = tmp_path / "project"
    (project / "campaigns").mkdir(parents=True)
    shutil.copy(REPO / "campaigns" / "birthday.yaml", project / "campaigns")
    shutil.copytree(REPO / "templates", project / "templates")
    linked = project / "templates" / "birthday" / "en" / "email.txt"
    linked.unlink()
    linked.symlink_to(secret)
    shutil.copy(sqlite_template, project / "rapport.db")
    (project / "config.yaml").write_text(
        "database: {url: 'sqlite:///rapport.db'}\n"
        "channels:\n"
        "  email: {adapter: file, kind: email, path: outbox}\n"
        "  sms: {adapter: file, kind: sms, path: outbox}\n",
        encoding="utf-8",
    )
    (project / "customers.csv").write_text(
        "id,first_name,email,locale,timezone,birthday\nL1,Ada,ada@example.com,en,UTC,1990-03-21\n",
        encoding="utf-8",
    )
    (project / "consent.csv").write_text(
        "customer_id,channel,topic,status,source,captured_at\n"
        "L1,email,birthday,granted,web,2025-01-01T00:00:00Z\n",
        encoding="utf-8",
    )
    for kind in ("customers", "consent"):
        assert run_rapport("import", kind, f"{kind}.csv", cwd=project).returncode == 0
    return project


def test_preview_refuses_a_template_linked_out_of_the_folder(linked_project: Path) -> None:
    shown = run_rapport(
        "preview",
        "birthday",
        "--customer",
        "L1",
        "--channel",
        "email",
        "--date",
        DAY,
        cwd=linked_project,
    )

    assert shown.returncode != 0
    assert "templates/birthday/en/email.txt: " in shown.stderr
    assert "a link leading out of the templates folder" in shown.stderr
    assert "hunter2" not in shown.stdout + shown.stderr and "42" not in shown.stdout


def test_plan_plans_nothing_from_a_template_linked_out_of_the_folder(
    linked_project: Path,
) -> None:
    planned = run_rapport("plan", "--date", DAY, cwd=linked_project)

    assert planned.returncode == 1
    assert "templates/birthday/en/email.txt: " in planned.stderr
    assert "TemplateOutsideFolder for customer L1" in planned.stderr
    assert "hunter2" not in planned.stdout + planned.stderr
    assert not (linked_project / "outbox").exists()
    with sqlite3.connect(linked_project / "rapport.db") as db:
        assert db.execute("SELECT count(*) FROM outbox_message").fetchone() == (0,)
