"""``rapport import ... --json`` prints a key the file named with a lone UTF-16
surrogate (``"\\ud800"`` in JSON, which a hostile or broken source can write) as the
JSON escape it came as: writing it raw to standard output failed after the rows were
imported ('unexpected error in import: UnicodeEncodeError ... surrogates not
allowed', exit 3, no document)."""

from __future__ import annotations

import json
from pathlib import Path

from factories import run_rapport


def test_an_unknown_key_with_a_lone_surrogate_is_listed_in_the_json_document(
    tmp_path: Path,
) -> None:
    assert run_rapport("db", "upgrade", cwd=tmp_path).returncode == 0
    (tmp_path / "c.jsonl").write_text(
        '{"id": "c-1", "locale": "en", "timezone": "UTC", "\\ud800x": 1}\n', encoding="ascii"
    )
    ran = run_rapport("import", "customers", "c.jsonl", "--json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    document = json.loads(ran.stdout)
    assert (document["accepted"], document["ignored_columns"]) == (1, ["\ud800x"])
    assert "\\ud800x" in ran.stdout
