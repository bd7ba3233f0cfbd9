"""``rapport customers export`` on a stdout that cannot hold every character (a
redirect on a machine whose locale is Latin-1, PYTHONIOENCODING=latin-1) prints the
same JSON document with those characters written as ``\\u`` escapes: a Persian or
Chinese name stopped the command with 'unexpected error in customers export:
UnicodeEncodeError' (exit 3), and since the export is written as it is read, a long
record could stop half way through the document. A real process: the in-process
runner's stdout is always UTF-8.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from factories import run_rapport

NAMES = {"FA1": ("شبنم", "نوری\u200cزاده"), "ZH1": ("娜", "王"), "EN1": ("Zoë", "Ødegård")}


def test_an_export_on_a_latin1_stdout_is_the_same_document_escaped(tmp_path: Path) -> None:
    assert run_rapport("db", "upgrade", cwd=tmp_path).returncode == 0
    rows = "".join(f"{i},{first},{last},en,UTC\n" for i, (first, last) in NAMES.items())
    (tmp_path / "c.csv").write_text(
        "id,first_name,last_name,locale,timezone\n" + rows, encoding="utf-8"
    )
    assert run_rapport("import", "customers", "c.csv", cwd=tmp_path).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env["PYTHONIOENCODING"] = "latin-1"

    for customer, (first, last) in NAMES.items():
        ran = subprocess.run(
            [str(Path(sys.executable).with_name("rapport")), "customers", "export", customer],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert ran.returncode == 0, ran.stderr.decode("latin-1")
        text = ran.stdout.decode("latin-1")
        profile = json.loads(text)["customer"]
        assert (profile["first_name"], profile["last_name"]) == (first, last)
