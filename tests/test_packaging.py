"""Rapport installs and runs away from its checkout (issue 19, point 6).

A wheel is built from a copy of the checkout (so no stale ``build/`` folder can leak
into it), offline, with .venv's own setuptools. It is installed with pip into a fresh
virtual environment that has no pip and no Rapport of its own; the dependencies come
from .venv's site-packages through a ``.pth`` file, by way of a folder of links that
leaves out the checkout's editable install of Rapport (its ``__editable__`` finder and
its ``rapport_engine-*.dist-info``), so what runs is the wheel and nothing else. In an
empty folder, ``rapport init .`` then ``rapport demo`` must run.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from demo_store import built_once

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
DISTRIBUTION = PYPROJECT["project"]["name"]
#: Top-level entries the wheel is not built from.
NOT_BUILT = {
    ".git", ".venv", ".ci", "var", "tests", "bench", "docs", "scripts", "build", "dist",
    ".pytest_cache", ".ruff_cache", ".mypy_cache", ".hypothesis",
}  # fmt: skip
#: The starter files `rapport init` writes, shipped under rapport/starter/.
STARTER = ("config.yaml", "campaigns", "templates")


def _left_out(directory: str, names: list[str]) -> set[str]:
    top = Path(directory) == REPO
    return {
        name
        for name in names
        if (top and name in NOT_BUILT)
        or name == "__pycache__"
        or name.endswith((".egg-info", ".pyc"))
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the checkout without network or build isolation,
    once per test run (demo_store.built_once: the xdist workers that run this module's
    tests share it; none of them changes it)."""

    def build(root: Path) -> None:
        source = root / "source"
        shutil.copytree(REPO, source, ignore=_left_out, symlinks=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
             "--no-build-isolation", "--wheel-dir", str(root / "dist"), str(source)],
            check=True, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    (built,) = (built_once(tmp_path_factory, "wheel", build) / "dist").glob("*.whl")
    return built


@dataclass(frozen=True)
class Installed:
    venv: Path
    #: The environment the installed commands run with: no RAPPORT_* variable, no
    #: PYTHONPATH, nothing pointing back at the checkout.
    env: dict[str, str]

    def run(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / args[0]), *args[1:]],
            cwd=cwd, env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip


def _dependencies(folder: Path) -> Path:
    """A folder linking to every entry of .venv's site-packages but Rapport's own."""
    folder.mkdir()
    for where in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
        for entry in Path(where).iterdir():
            name = entry.name.lower()
            ours = name.startswith(("rapport", "__editable__")) or name.endswith(".pth")
            if not ours and not (folder / entry.name).exists():
                (folder / entry.name).symlink_to(entry)
    return folder


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel installed in a fresh venv, once per test run as the wheel is (the tests
    run commands from it and read it; none installs anything into it)."""

    def build(root: Path) -> None:
        venv = root / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        (site,) = venv.glob("lib/python*/site-packages")
        (site / "rapport-test-dependencies.pth").write_text(
            f"{_dependencies(root / 'dependencies')}\n", encoding="utf-8"
        )
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
             "--quiet", "--no-deps", "--no-index", "--find-links", str(wheel.parent),
             DISTRIBUTION],
            check=True, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    venv = built_once(tmp_path_factory, "installed-wheel", build) / "venv"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("RAPPORT_", "PYTHON", "VIRTUAL_ENV"))
    }
    return Installed(venv, env)


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(archive.read(name))


def test_the_wheel_names_the_distribution_its_licence_and_the_postgresql_extra(
    wheel: Path,
) -> None:
    metadata = _metadata(wheel)
    assert metadata["Name"] == "rapport-engine"
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["License-File"] == "LICENSE"
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["Summary"] and metadata["Author"] and metadata["Keywords"]
    assert "postgresql" in metadata.get_all("Provides-Extra")
    psycopg = [r for r in metadata.get_all("Requires-Dist") if r.startswith("psycopg")]
    assert psycopg and all('extra == "postgresql"' in r for r in psycopg), psycopg
    with zipfile.ZipFile(wheel) as archive:
        licence = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert b"Apache License" in archive.read(licence[0])


def test_the_distribution_name_is_the_one_install_hints_give() -> None:
    from rapport.engine.core.db import DISTRIBUTION as IN_HINTS

    assert IN_HINTS == DISTRIBUTION


def _shipped(relative: Path) -> bool:
    """Files the installed package needs: everything but translators' .pot templates."""
    return "__pycache__" not in relative.parts and relative.suffix not in (".pyc", ".pot")


def test_the_wheel_holds_every_module_catalog_page_and_starter_file(wheel: Path) -> None:
    expected: set[str] = set()
    for package, folder in PYPROJECT["tool"]["setuptools"]["package-dir"].items():
        prefix = package.replace(".", "/")
        if folder == ".":
            for name in STARTER:
                paths = [REPO / name] if (REPO / name).is_file() else (REPO / name).rglob("*")
                expected |= {
                    f"{prefix}/{p.relative_to(REPO).as_posix()}"
                    for p in paths
                    if p.is_file() and _shipped(p.relative_to(REPO))
                }
            continue
        for path in (REPO / folder).rglob("*"):
            relative = path.relative_to(REPO / folder)
            if path.is_file() and _shipped(relative):
                expected.add(f"{prefix}/{relative.as_posix()}")
    with zipfile.ZipFile(wheel) as archive:
        missing = sorted(expected - set(archive.namelist()))
    assert not missing, (
        "not in the wheel (pyproject.toml: a package or a package-data pattern is missing): "
        + ", ".join(missing[:20])
    )


def test_a_wheel_installed_in_a_fresh_venv_runs_init_then_demo_in_an_empty_folder(
    installed: Installed, tmp_path: Path
) -> None:
    which = installed.run("python", "-c", "import rapport; print(rapport.__file__)", cwd=tmp_path)
    assert Path(which.stdout.strip()).is_relative_to(installed.venv), which
    assert list(tmp_path.iterdir()) == []

    init = installed.run("rapport", "init", ".", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert "rapport demo" in init.stdout
    assert (tmp_path / "config.yaml").is_file()
    assert (tmp_path / "templates" / "_partials" / "fa" / "layout.html").is_file()
    assert sorted(p.name for p in (tmp_path / "campaigns").iterdir()) == sorted(
        p.name for p in (REPO / "campaigns").glob("*.yaml")
    )

    # A smaller sample and a short history than the default (12 s): the same path.
    demo = installed.run(
        "rapport", "demo", "--customers", "40", "--history-days", "3", "--date", "2026-11-26",
        cwd=tmp_path,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    assert "Traceback" not in demo.stderr
    sent = re.search(r"Files: (\d+) messages in var/demo/outbox", demo.stdout)
    assert sent and int(sent.group(1)) > 0, demo.stdout
    assert list((tmp_path / "var" / "demo" / "outbox").glob("*.eml"))
    assert str(installed.venv / "bin" / "rapport") in demo.stdout  # the commands it suggests


def test_the_installed_wheel_finds_every_requirement_it_declares(installed: Installed) -> None:
    check = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(installed.venv / "bin" / "python"), "check"],
        capture_output=True, text=True, env=installed.env, timeout=60,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_installed_command_reports_its_version(installed: Installed, tmp_path: Path) -> None:
    result = installed.run("rapport", "--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"rapport, version {PYPROJECT['project']['version']}"


def test_time_zones_resolve_on_a_host_without_a_time_zone_database(tmp_path: Path) -> None:
    """zoneinfo reads the system's files first and the tzdata package where there are
    none (a slim container): PYTHONTZPATH pointing at an empty folder is such a host."""
    env = {**os.environ, "PYTHONTZPATH": str(tmp_path)}
    found = subprocess.run(
        [sys.executable, "-c", "from zoneinfo import ZoneInfo; print(ZoneInfo('Asia/Tehran'))"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert (found.returncode, found.stdout.strip()) == (0, "Asia/Tehran"), found.stderr
