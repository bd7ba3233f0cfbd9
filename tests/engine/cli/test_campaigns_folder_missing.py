"""A command run where there is no campaigns folder says what to do.

The usual cause is a newcomer running ``rapport plan`` outside the project ``rapport
init`` wrote (no ``config.yaml`` there, so the defaults apply and ``./campaigns`` is
looked for). The problem names the folder and the ways out: ``rapport init``, the
project's folder, ``--config``, ``campaigns_dir``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import run_rapport


@pytest.mark.parametrize("command", [("plan",), ("campaigns", "validate")])
def test_a_missing_campaigns_folder_says_to_run_init_or_give_config(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    ran = run_rapport(*command, cwd=tmp_path)

    assert ran.returncode == 1, ran.stdout
    [line] = [line for line in ran.stderr.splitlines() if "campaigns folder not found" in line]
    assert line.startswith(f"{tmp_path / 'campaigns'}: campaigns folder not found")
    assert "rapport init" in line
    assert "--config" in line
    assert "campaigns_dir" in line
