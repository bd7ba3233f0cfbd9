"""``rapport customers export`` writes the JSON to a terminal as every other JSON the
command line prints does (engine/core/text.py: json_for_terminal): DEL, C1 and bidi
controls as ``\\u`` escapes. Event data other systems posted, and feedback comments,
may hold them (only NUL and lone surrogates are refused there), and they reached the
operator's terminal raw: U+009B is a control sequence introducer to a terminal that
reads C1 controls, U+202E reverses what follows. The document is the same JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from factories import run_rapport
from sqlalchemy import create_engine, insert

from rapport.engine.core.models import CUSTOMER_EVENT

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
NOTE = "paid \u009b2J at \u202eexe.gnp"


def test_a_customer_export_on_stdout_escapes_terminal_controls(tmp_path: Path) -> None:
    assert run_rapport("db", "upgrade", cwd=tmp_path).returncode == 0
    (tmp_path / "c.csv").write_text("id,locale,timezone\nc-1,en,UTC\n", encoding="utf-8")
    assert run_rapport("import", "customers", "c.csv", cwd=tmp_path).returncode == 0
    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'rapport.db'}")
    with engine.begin() as connection:
        connection.execute(
            insert(CUSTOMER_EVENT).values(
                customer_id="c-1",
                name="payment",
                event_key="p-1",
                occurred_at=AT,
                data=json.dumps({"note": NOTE}, ensure_ascii=False),
                recorded_at=AT,
            )
        )
    engine.dispose()
    ran = run_rapport("customers", "export", "c-1", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "\u009b" not in ran.stdout and "\u202e" not in ran.stdout
    (event,) = json.loads(ran.stdout)["events"]
    assert NOTE in event["data"]
