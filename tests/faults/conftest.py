"""Fixtures of the fault-injection suite: real servers, real processes, real faults.

* ``pg_cluster``: a private PostgreSQL cluster (:mod:`faults.cluster`) for the
  session, which tests may kill and restart; it needs no shared server. Where it
  cannot be made (no PostgreSQL 15 binaries, not root) its tests skip, and fail
  with ``CI=true``, as the shared server's do.
* ``fault_url``: a migrated database of each kind, SQLite (a copy of the session's
  migrated file) and PostgreSQL (a database in the private cluster).
* ``tiny_disk_url``: a migrated SQLite file alone on a small tmpfs that a test fills.
* ``sms_provider``: a controllable HTTP SMS provider (:mod:`faults.provider`).
* ``launch``: starts ``rapport`` processes (:mod:`faults.procs`) and kills whatever
  is still running when the test ends.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from faults.cluster import PrivateCluster
from faults.cluster import missing as cluster_missing
from faults.procs import Rapport, environment, start, start_console
from faults.provider import SMSProvider
from faults.sqlite_faults import TinyDisk, mounting_missing, tiny_disk

IN_CI = os.environ.get("CI") == "true"


def unavailable(message: str) -> None:
    """In CI a missing facility fails the test; elsewhere it skips it."""
    if IN_CI:
        pytest.fail(f"{message} (required in CI)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PrivateCluster]:
    if (why := cluster_missing()) is not None:
        unavailable(f"no private PostgreSQL cluster: {why}")
    cluster = PrivateCluster()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def cluster_url(pg_cluster: PrivateCluster) -> Iterator[str]:
    """A migrated database of the test's own in the private cluster (running again
    after the test, whatever the test did to the server)."""
    url = pg_cluster.migrated_database()
    try:
        yield url
    finally:
        pg_cluster.drop(url)


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated SQLite file, the test's own."""
    path = tmp_path / "rapport.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def fault_url(request: pytest.FixtureRequest) -> str:
    """A migrated database of each kind, the test's own."""
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "cluster_url")
    return url


#: The tmpfs holding a SQLite file under test: room for the migrated file and a WAL
#: that grows to its checkpoint size (1,000 pages).
TINY_DISK_KIB = 16384


@pytest.fixture
def tiny_disk_url(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[str, TinyDisk]]:
    """A migrated SQLite file alone on a small tmpfs, and the disk (always unmounted)."""
    if (why := mounting_missing()) is not None:
        unavailable(why)
    size = sqlite_template.stat().st_size // 1024
    assert size * 2 < TINY_DISK_KIB, f"the migrated file ({size} KiB) outgrew the tiny disk"
    with tiny_disk(tmp_path / "disk", TINY_DISK_KIB) as disk:
        path = disk.mount_point / "rapport.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}", disk


@pytest.fixture
def sms_provider() -> Iterator[SMSProvider]:
    """A controllable SMS provider, listening; held requests are let go at the end."""
    provider = SMSProvider()
    provider.start()
    try:
        yield provider
    finally:
        provider.release()
        provider.stop()


Launch = Callable[..., Rapport]


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launch]:
    """``launch(*args, console=False, name="rapport", env=None)``: a ``rapport``
    process on the test's folder, its output in ``tmp_path/NAME.log``; any still
    running at the end of the test are killed."""
    started: list[Rapport] = []

    def run(
        *args: str, console: bool = False, name: str = "rapport", env: dict[str, str] | None = None
    ) -> Rapport:
        begin = start_console if console else start
        process = begin(*args, cwd=tmp_path, env=env or environment(), log=tmp_path / f"{name}.log")
        started.append(process)
        return process

    try:
        yield run
    finally:
        for process in started:
            if process.alive():
                process.signal(signal.SIGKILL)
                process.wait(10)
