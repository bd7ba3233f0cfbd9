"""`rapport report --comments` prints what customers typed without letting it drive the
operator's terminal: escape sequences and other controls are shown, not obeyed, and
bidi controls are named instead of reordering the line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from factories import run_rapport
from sqlalchemy import insert

from rapport.engine.core.db import make_engine
from rapport.engine.core.models import CUSTOMER, FEEDBACK_ANSWER
from rapport.engine.reports.text import printable

ANSWERED = datetime(2026, 5, 4, 10, tzinfo=UTC)
#: Clear the screen, retitle the window, a C1 CSI, a bell, DEL, a right-to-left
#: override, an isolate, a tab and a newline, around a Persian word with its ZWNJ.
HOSTILE = (
    "great\x1b[2J\x1b]0;pwned\x07 \x9b31m red\x7f \u202eevil\u2069 "
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645\tnext\nline"
)
#: Bytes and characters no terminal may receive raw from a report.
RAW = ["\x1b", "\x07", "\x9b", "\x7f", "\u202e", "\u2069"]


@pytest.fixture
def workspace(tmp_path: Path, migrated_url: str) -> Path:
    engine = make_engine(migrated_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(CUSTOMER).values(
                    id="F\x1b[31m1",
                    locale="fa_IR",
                    timezone="Asia/Tehran",
                    created_at=datetime(2025, 1, 1, tzinfo=UTC),
                )
            )
            connection.execute(
                insert(FEEDBACK_ANSWER).values(
                    customer_id="F\x1b[31m1",
                    occasion="o1",
                    campaign="feedback",
                    channel="email",
                    score=9,
                    comment=HOSTILE,
                    locale="fa_IR",
                    stage="active",
                    tier="base",
                    answered_at=ANSWERED,
                )
            )
    finally:
        engine.dispose()
    (tmp_path / "config.yaml").write_text(f"database: {{url: '{migrated_url}'}}\n")
    return tmp_path


def test_comments_show_controls_instead_of_obeying_them(workspace: Path) -> None:
    ran = run_rapport(
        "report", "--comments", "--from", "2026-05-01", "--to", "2026-05-31", cwd=workspace
    )

    assert ran.returncode == 0, ran.stderr
    for raw in RAW:
        assert raw not in ran.stdout, repr(raw)
    row = next(line for line in ran.stdout.splitlines() if line.startswith("2026-05-04"))
    assert "F\\x1b[31m1" in row, "an imported id is shown escaped too"
    assert row.endswith(
        "great\\x1b[2J\\x1b]0;pwned\\x07 \\x9b31m red\\x7f <U+202E>evil<U+2069> "
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 next line"
    ), row


def test_json_escapes_what_a_terminal_would_act_on_and_keeps_the_text(workspace: Path) -> None:
    ran = run_rapport(
        "report", "--json", "--from", "2026-05-01", "--to", "2026-05-31", cwd=workspace
    )

    assert ran.returncode == 0, ran.stderr
    for raw in RAW:
        assert raw not in ran.stdout, repr(raw)
    assert "\u0645\u06cc\u200c\u062e" in ran.stdout, "text stays readable, ZWNJ included"
    comments = json.loads(ran.stdout)["feedback"]["comments"]
    assert [c["comment"] for c in comments] == [HOSTILE], "the same document, escaped"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x00\x08\x0b\x0c\x0d\x1f", "\\x00\\x08\\x0b\\x0c\\x0d\\x1f"),
        ("\x80\x85\x9f", "\\x80\\x85\\x9f"),
        ("\u200e\u200f\u061c\u202a\u2066", "<U+200E><U+200F><U+061C><U+202A><U+2066>"),
        ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
        (
            "\u4f60\u597d \u0633\u0644\u0627\u0645\u200c",
            "\u4f60\u597d \u0633\u0644\u0627\u0645\u200c",
        ),
    ],
)
def test_printable_at_the_edges(text: str, shown: str) -> None:
    assert printable(text) == shown
