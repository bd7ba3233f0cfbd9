"""``--config`` names a file: an empty value is a usage error (exit 2), never the
default file or the current folder read in its place."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import run_rapport


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "--config", "", "--dry-run"),
        ("--config", "", "plan", "--dry-run"),
    ],
)
def test_an_empty_config_path_is_a_usage_error(tmp_path: Path, args: tuple[str, ...]) -> None:
    """``rapport plan --config ""`` read ./config.yaml instead (here: a cap of 5 a day,
    not what the operator named), and ``rapport --config "" plan`` the current folder."""
    (tmp_path / "config.yaml").write_text("caps: {per_day: 5}\n", encoding="utf-8")

    ran = run_rapport(*args, cwd=tmp_path)

    assert ran.returncode == 2
    assert (
        "Invalid value for '--config': empty: name the configuration file, or leave --config "
        "out" in ran.stderr
    )
