"""Planning's worker processes die with the process that started them.

A worker blocks reading its pool's queue, whose write end it holds itself, so before
``shards.die_with_parent`` a SIGKILL of ``rapport plan`` left its workers alive and
idle for good. These tests kill real parents and look for their workers in /proc.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from factories import REPO, make_settings, seed_sample

from rapport.engine.core.db import make_engine

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux prctl")
RAPPORT = str(Path(sys.executable).parent / "rapport")


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan's zombie may wait for a
    reaper that never comes in a container; it runs nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def command_line(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}/cmdline").read_bytes()).replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_for(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_worker_whose_parent_is_killed_exits(tmp_path: Path) -> None:
    """The worker has run its initializer and done work: the kernel's PDEATHSIG ends it."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """\
                import os, sys, time
                from rapport.engine.planning import shards
                workers = shards.pool(1)
                print(workers.submit(os.getpid).result(), flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        assert alive(worker)
    finally:
        parent.kill()
        parent.wait()
    assert wait_for(lambda: not alive(worker), 5), command_line(worker)


def test_a_worker_started_by_a_parent_that_already_died_exits_at_once() -> None:
    """The parent died before the worker could ask to die with it: it is someone else's."""
    ran = subprocess.run(
        [
            sys.executable,
            "-c",
            "from rapport.engine.planning.shards import die_with_parent\n"
            "die_with_parent(1 if __import__('os').getppid() != 1 else 2)\n"
            "print('still running')",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert ran.returncode == 1 and "still running" not in ran.stdout


def test_sigkill_of_a_sharded_rapport_plan_leaves_no_worker_behind(
    tmp_path: Path, sqlite_template: Path
) -> None:
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'rapport.db'}")
    try:
        seed_sample(engine, make_settings(), tmp_path, customers=1500, data_seed=5)
    finally:
        engine.dispose()
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: 'sqlite:///{tmp_path / 'rapport.db'}'}}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\n"
        f"templates_dir: {REPO / 'templates'}\n"
        "planning: {workers: 3, min_customers_per_worker: 1, batch_size: 50}\n"
        "channels:\n"
        "  email: {adapter: file, kind: email, path: outbox}\n"
        "  sms: {adapter: file, kind: sms, path: outbox}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env["RAPPORT_SECRET_KEY"] = "workers"
    plan = subprocess.Popen(
        [RAPPORT, "--config", str(tmp_path / "config.yaml"), "plan", "--date", "2026-11-26"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: list[int] = []
    try:

        def started() -> bool:
            workers[:] = [p for p in children(plan.pid) if "spawn_main" in command_line(p)]
            return len(workers) == 2

        assert wait_for(started, 30), "no worker process started"
        # Some workers are still importing (they will find their parent gone), some
        # may be planning already (the kernel kills them): both must end.
        time.sleep(0.5)
        assert plan.poll() is None, "the run ended before it could be killed"
        descendants = children(plan.pid)  # the workers and multiprocessing's tracker
        plan.send_signal(signal.SIGKILL)
        plan.wait()
    finally:
        if plan.poll() is None:
            plan.kill()
            plan.wait()
    assert wait_for(lambda: not any(alive(pid) for pid in descendants), 8), [
        command_line(pid) for pid in descendants if alive(pid)
    ]
