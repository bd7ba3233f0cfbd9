"""A template that is a link out of the templates folder is refused by the commands
that read templates, with its file and the reason, and never read (issue 15, point 8).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from factories import REPO

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
