"""One ``rapport db upgrade`` at a time (engine/core/migrationlock.py): the systemd unit
in docs/operations.md runs it before every daemon starts, so machines started
together run it together; before the lock, all but one failed with exit 3 on a table
or type the other had just made."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import text

from rapport.engine.core.db import current_revision, head_revision, make_engine
from rapport.engine.core.migrationlock import migration_lock

RAPPORT = str(Path(sys.executable).parent / "rapport")
WAITING = "another `rapport db upgrade` is migrating this database; waiting for it to finish"


def upgrade_process(url: str, folder: Path) -> subprocess.Popen[str]:
    (folder / "config.yaml").write_text(f"database: {{url: '{url}'}}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    return subprocess.Popen(
        [RAPPORT, "db", "upgrade"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def first_line(stream: object, timeout: float) -> str:
    """The first line the process writes there, or "" if none comes in time."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)  # type: ignore[attr-defined]
    reader.start()
    reader.join(timeout)
    return lines[0].rstrip("\n") if lines else ""


def test_an_upgrade_waits_for_one_under_way_then_finds_nothing_left_to_do(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    try:
        with migration_lock(engine):
            waiter = upgrade_process(database_url, tmp_path)
            try:
                assert first_line(waiter.stderr, 60) == WAITING
                time.sleep(1)
                assert waiter.poll() is None  # still waiting: it migrated nothing meanwhile
                assert current_revision(engine) is None
            except BaseException:
                waiter.kill()
                raise
        out, err = waiter.communicate(timeout=120)
        assert waiter.returncode == 0, err
        assert out.strip() == f"database schema at revision {head_revision()}"
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_upgrades_started_together_all_end_at_head_without_an_error(
    database_url: str, tmp_path: Path
) -> None:
    folders = [tmp_path / name for name in "abc"]
    for folder in folders:
        folder.mkdir()
    upgrades = [upgrade_process(database_url, folder) for folder in folders]
    ended = [process.communicate(timeout=180) for process in upgrades]
    assert [process.returncode for process in upgrades] == [0, 0, 0], [e[1] for e in ended]
    head = f"database schema at revision {head_revision()}"
    assert [out.strip() for out, _ in ended] == [head, head, head]


def test_a_waiting_upgrade_holds_no_transaction_an_index_build_must_wait_for(
    postgres_url: str, tmp_path: Path
) -> None:
    """Migration 0019 builds an index with CREATE INDEX CONCURRENTLY, which waits for
    every transaction open when it starts: an upgrade waiting for the lock in one
    statement (``pg_advisory_lock``) held one open, and three upgrades started together
    hung for good, the first building, the others waiting."""
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE lock_probe (n integer)"))
        with migration_lock(engine):
            waiter = upgrade_process(postgres_url, tmp_path)
            try:
                assert first_line(waiter.stderr, 60) == WAITING
                with engine.connect() as connection:
                    connection.execution_options(isolation_level="AUTOCOMMIT")
                    connection.execute(text("SET statement_timeout = '20s'"))
                    connection.execute(text("CREATE INDEX CONCURRENTLY ix_probe ON lock_probe (n)"))
                    connection.execute(text("RESET statement_timeout"))
            finally:
                waiter.kill()
                waiter.communicate()
    finally:
        engine.dispose()
