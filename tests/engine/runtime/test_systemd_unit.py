"""The systemd unit docs/operations.md gives is one systemd accepts, as written.

systemd reads a comment only on a line of its own: ``TimeoutStopSec=60  # ...`` is an
invalid value that systemd ignores with a warning (and ``systemd-analyze verify`` still
exits 0), so the checks here fail on any output at all. The unit must pull in
``network-online.target`` (``Wants=``), not only order itself after it.

``systemd-analyze verify`` runs on the block itself, with the daemon's path pointed at a
stand-in executable (verify checks that ``ExecStart=`` exists). scripts/test.sh installs
systemd where it is missing; with CI=true that test must run. The parser test runs
everywhere.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from factories import REPO

from rapport.engine.core.config import DaemonConfig

DOC = REPO / "docs" / "operations.md"
NAME = "# /etc/systemd/system/rapport.service"
INSTALLED = "/srv/rapport/.venv/bin/rapport"


def unit_text() -> str:
    """The ``ini`` block of docs/operations.md that is rapport.service."""
    blocks = re.findall(r"^```ini\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.M | re.S)
    [unit] = [block for block in blocks if block.startswith(NAME + "\n")]
    return str(unit)


def sections(text: str) -> dict[str, list[tuple[str, str]]]:
    """Section -> [(key, value)], as systemd reads the file (comments on their own lines)."""
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if header := re.fullmatch(r"\[([A-Za-z]+)\]", stripped):
            current = found.setdefault(header.group(1), [])
            continue
        assert current is not None, f"line {number}: {line!r} before any [Section]"
        key, equals, value = stripped.partition("=")
        assert equals and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key), f"line {number}: {line!r}"
        assert not re.search(r"\s[#;]", value), f"line {number}: a trailing comment: {line!r}"
        current.append((key, value.strip()))
    return found


def values(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [value for name, value in unit.get(section, []) if name == key]


def test_the_unit_parses_and_has_what_the_daemon_needs() -> None:
    unit = sections(unit_text())
    assert set(unit) == {"Unit", "Service", "Install"}
    assert "network-online.target" in values(unit, "Unit", "Wants")
    after = " ".join(values(unit, "Unit", "After")).split()
    assert "network-online.target" in after and "postgresql.service" in after
    assert values(unit, "Service", "ExecStartPre") == [f"{INSTALLED} db upgrade"]
    assert values(unit, "Service", "ExecStart") == [f"{INSTALLED} run"]
    assert values(unit, "Service", "KillSignal") == ["SIGTERM"]
    [timeout] = values(unit, "Service", "TimeoutStopSec")
    # The daemon exits at most grace_seconds + 2 s after SIGTERM; systemd must wait longer.
    assert int(timeout) > DaemonConfig().grace_seconds + 2
    assert values(unit, "Service", "Restart") == ["on-failure"]
    assert values(unit, "Install", "WantedBy") == ["multi-user.target"]


def test_a_trailing_comment_is_caught() -> None:
    with pytest.raises(AssertionError, match="trailing comment"):
        sections("[Service]\nTimeoutStopSec=60  # longer than the grace period\n")


def test_systemd_analyze_verify_accepts_the_unit_without_a_word(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is missing: scripts/test.sh installs systemd")
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    stand_in = tmp_path / "rapport"
    stand_in.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    stand_in.chmod(0o755)
    unit = tmp_path / "rapport.service"
    unit.write_text(unit_text().replace(INSTALLED, str(stand_in)), encoding="utf-8")

    ran = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout + ran.stderr == "", ran.stdout + ran.stderr

    # The check is not blind: the trailing comment the unit once had is reported.
    broken = unit.read_text(encoding="utf-8").replace(
        "TimeoutStopSec=60", "TimeoutStopSec=60  # longer than daemon.grace_seconds + 2 s"
    )
    unit.write_text(broken, encoding="utf-8")
    ran = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert "TimeoutStopSec" in ran.stderr or "time value" in ran.stderr, ran
