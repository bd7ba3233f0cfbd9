"""An option that takes one value, given twice, is a usage error naming it (exit 2),
before the command does anything.

Click keeps the last value without a word, so an operator's
``rapport consent withdraw C1 --channel email --topic offers --topic birthday`` withdrew
birthday only and printed 'C1: email/birthday withdrawn': the withdrawal of offers the
operator typed was dropped, and the customer kept getting offers. Likewise
``rapport --config a.yaml plan --config b.yaml`` read b.yaml only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import run_rapport


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["consent", "withdraw", "C1", "--channel", "email", "--topic", "offers",
          "--topic", "birthday"], "--topic"),
        (["consent", "withdraw", "C1", "--channel=email", "--channel", "sms",
          "--topic", "offers"], "--channel"),
        (["consent", "grant", "C1", "--channel", "email", "--topic", "offers",
          "--source", "paper_form", "--wording", "v1", "--wording", "v2"], "--wording"),
        (["plan", "--dry-run", "--date", "2026-12-08", "--date=2026-12-24"], "--date"),
        (["customers", "export", "C1", "-o", "a.json", "--output", "b.json"], "--output"),
        (["--config", "a.yaml", "plan", "--config", "b.yaml"], "--config"),
    ],
)  # fmt: skip
def test_an_option_given_twice_is_a_usage_error_naming_it(
    tmp_path: Path, args: list[str], option: str
) -> None:
    ran = run_rapport(*args, cwd=tmp_path)
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert f"{option} is given twice" in ran.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_value_that_looks_like_an_option_is_not_counted(tmp_path: Path) -> None:
    """``--source --topic`` is the source '--topic', not a second --topic."""
    ran = run_rapport(
        "consent", "grant", "C1", "--channel", "email", "--topic", "offers",
        "--source", "--topic", "--wording", "v1", cwd=tmp_path,
    )  # fmt: skip
    assert "given twice" not in ran.stderr


def test_a_flag_given_twice_is_harmless_and_allowed(tmp_path: Path) -> None:
    ran = run_rapport("db", "current", "--json", "--json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
