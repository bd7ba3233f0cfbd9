"""The daemon reports a campaign file it cannot load, and a message it cannot render, as
log records like every other line on its stderr (docs/operations.md, "Logs": stderr
holds nothing but JSON lines, campaign files named in the ``file`` field): it printed
them as bare text, which a log shipper reading JSON lines drops or chokes on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from factories import REPO

RAPPORT = str(Path(sys.executable).parent / "rapport")


def test_a_campaign_the_daemon_cannot_load_is_a_json_log_line_naming_file_and_line(
    tmp_path: Path, sqlite_template: Path
) -> None:
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    (tmp_path / "campaigns").mkdir()
    shutil.copy(REPO / "campaigns" / "birthday.yaml", tmp_path / "campaigns")
    (tmp_path / "campaigns" / "broken.yaml").write_text(
        "name: Broken\ntrigger: {type: birthdayy}\ntopic: birthday\nchannels: [email]\n",
        encoding="utf-8",
    )
    (tmp_path / "config.yaml").write_text(
        "database: {url: 'sqlite:///rapport.db'}\n", encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(RAPPORT_SECRET_KEY="k" * 40, RAPPORT_LOG_LEVEL="INFO")

    ran = subprocess.run(
        [RAPPORT, "run", "--once"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    lines = [line for line in ran.stderr.splitlines() if line.strip()]
    entries: list[dict[str, Any]] = [json.loads(line) for line in lines]  # each JSON, or this fails
    [problem] = [entry for entry in entries if entry.get("file") == "campaigns/broken.yaml"]
    assert (problem["level"], problem["line"]) == ("warning", 2)
    assert "trigger.type: 'birthdayy' is not a known type" in problem["message"]
