"""Demo stores built once per test run and shared by the tests that read one.

A demo run (a sample imported, then months of history planned and dispatched under a
simulated clock) takes 10 to 30 s, and several test modules need one. Each kind of
run here happens once per test run: the first pytest-xdist worker that asks builds it
under a lock, in a folder of the run's base temporary directory, and the others wait
for it and use it too. A built folder is never changed afterwards; a module that
writes to its store gets a copy of it (:func:`demo_store`).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from factories import REPO

#: The demo's day in the tests that fix it: Thanksgiving in the US, a Thursday.
DEMO_DAY = date(2026, 11, 26)
RAPPORT = str(Path(sys.executable).parent / "rapport")


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """The folder ``name``, filled by ``build`` once per test run (not per worker).

    A build that fails leaves no mark: the next test that asks builds it again, and
    fails the same way."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's base is a folder of the run's own base folder.
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    shared = root / "built-once"
    shared.mkdir(exist_ok=True)
    folder, done = shared / name, shared / f"{name}.done"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


def demo_store(tmp_path_factory: pytest.TempPathFactory, into: Path) -> Path:
    """A copy, as ``into / "var"``, of the store ``rapport demo --date DEMO_DAY`` made
    with the demo's own defaults (:func:`shared_cli_demo`, which the tests of the command
    itself read: one demo build for both, 10-15 s of CPU each); its SQLite file,
    generated data and outbox, as the demo left them. Returns the copy's SQLite file."""
    original = shared_cli_demo(tmp_path_factory).folder / "store"
    shutil.copytree(original, into / "var")
    return into / "var" / "rapport.db"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without any RAPPORT_ variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(extra)
    return env


@dataclass(frozen=True)
class CliDemo:
    """``rapport demo`` as a user ran it in ``folder``: its output, and the port of the
    web app its links name."""

    folder: Path
    output: str
    port: int


def run_cli_demo(folder: Path, *options: str, more_config: str = "") -> CliDemo:
    """``rapport demo --date DEMO_DAY OPTIONS`` as a process in ``folder``, whose
    config.yaml names the repository's campaigns and templates and a web app on a free
    port, with an operator's RAPPORT_SECRET_KEY exported."""
    port = free_port()
    (folder / "config.yaml").write_text(
        f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n"
        f"web:\n  base_url: http://127.0.0.1:{port}\n{more_config}",
        encoding="utf-8",
    )
    result = subprocess.run(
        [RAPPORT, "demo", "--date", DEMO_DAY.isoformat(), *options],
        cwd=folder,
        env=environment(RAPPORT_SECRET_KEY="the-operators-own-key"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return CliDemo(folder, result.stdout, port)


def shared_cli_demo(tmp_path_factory: pytest.TempPathFactory) -> CliDemo:
    """:func:`run_cli_demo` with the demo's own defaults, once per test run. Its folder
    is shared: a test may run ``rapport serve`` on its store, nothing else writes."""

    def build(folder: Path) -> None:
        ran = run_cli_demo(folder)
        # The store as the demo left it, for demo_store's copies: a test may serve the
        # demo's own folder (and a served link may write) while another copies it.
        shutil.copytree(folder / "var" / "demo", folder / "store")
        (folder / "output.txt").write_text(ran.output, encoding="utf-8")
        (folder / "port.txt").write_text(str(ran.port), encoding="utf-8")

    folder = built_once(tmp_path_factory, f"rapport-demo-{DEMO_DAY}", build)
    output = (folder / "output.txt").read_text(encoding="utf-8")
    return CliDemo(folder, output, int((folder / "port.txt").read_text(encoding="utf-8")))
