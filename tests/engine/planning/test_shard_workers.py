"""Planning's worker processes die with the process that started them.

A worker blocks reading its pool's queue, whose write end it holds itself, so before
``shards.die_with_parent`` a SIGKILL of ``rapport plan`` left its workers alive and
idle for good. These tests kill real parents and look for their workers in /proc
(tests/faults/test_processes.py kills a sharded ``rapport plan`` itself).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from processes import alive, command_line

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux prctl")
RAPPORT = str(Path(sys.executable).parent / "rapport")


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
