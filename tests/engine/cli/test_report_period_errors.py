"""``rapport report`` names the day it compared with when the period is reversed: with
``--from`` after today and no ``--to``, the error said '--from must not be after --to',
an option the user had not given; it now says --to is today by default, and which day
that is. A usage error: exit 2, nothing on stdout (README.md, exit codes)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from factories import run_rapport


def test_a_from_after_today_without_to_says_to_defaults_to_today(tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    result = run_rapport("report", "--from", "2099-01-01", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "--from 2099-01-01 is after --to" in result.stderr
    assert f"(not given: today, {today.isoformat()})" in result.stderr.replace("\n", " ")


def test_a_from_after_the_given_to_names_both_days(tmp_path: Path) -> None:
    result = run_rapport("report", "--from", "2026-12-01", "--to", "2026-11-01", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "--from 2026-12-01 is after --to 2026-11-01" in result.stderr
