"""``rapport db current`` and ``rapport db history`` (issue 16, point 10): the revision of
the configured database, whether it is the newest, and every revision with its message,
read through Alembic on SQLite and PostgreSQL, changing nothing."""

from __future__ import annotations

import json
from pathlib import Path

from factories import run_rapport

from rapport.engine.core.db import current_revision, head_revision, make_engine, upgrade


def configure(folder: Path, url: str) -> None:
    (folder / "config.yaml").write_text(f"database: {{url: '{url}'}}\n", encoding="utf-8")


def json_of(*args: str, cwd: Path) -> dict:  # type: ignore[type-arg]
    result = run_rapport(*args, "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_current_and_history_follow_the_database_from_empty_to_head(
    database_url: str, tmp_path: Path
) -> None:
    configure(tmp_path, database_url)
    head = head_revision()
    assert head is not None

    empty = run_rapport("db", "current", cwd=tmp_path)
    assert empty.returncode == 0
    assert empty.stdout.startswith("no schema yet") and "rapport db upgrade" in empty.stdout
    assert json_of("db", "current", cwd=tmp_path) == {
        "current": None,
        "head": head,
        "at_head": False,
        "known": True,
        "message": None,
    }
    history = json_of("db", "history", cwd=tmp_path)
    assert history["current"] is None
    assert not any(r["applied"] for r in history["revisions"])

    engine = make_engine(database_url)
    try:
        upgrade(engine, "0009")
        behind = run_rapport("db", "current", cwd=tmp_path)
        assert behind.returncode == 0
        assert behind.stdout.splitlines() == [
            "0009: The link-signing key, kept in the database so every daemon on it shares one.",
            f"not at head ({head}): run `rapport db upgrade`",
        ]
        found = json_of("db", "current", cwd=tmp_path)
        assert (found["current"], found["at_head"]) == ("0009", False)
        revisions = json_of("db", "history", cwd=tmp_path)["revisions"]
        assert [r["revision"] for r in revisions if r["applied"]] == [
            f"{n:04d}" for n in range(1, 10)
        ]
        assert [r["revision"] for r in revisions if r["current"]] == ["0009"]
        assert current_revision(engine) == "0009"  # reading changed nothing

        upgrade(engine)
        at_head = run_rapport("db", "current", cwd=tmp_path)
        assert at_head.stdout.startswith(f"{head} (head): ")
        assert json_of("db", "current", cwd=tmp_path)["at_head"] is True
        text = run_rapport("db", "history", cwd=tmp_path).stdout.splitlines()
    finally:
        engine.dispose()
    assert text[0] == "0001 applied initial schema"
    assert text[-1].startswith(f"{head} applied ") and text[-1].endswith("(current, head)")
    assert len(text) == len(revisions)


def test_history_lists_every_revision_oldest_first_with_its_message(
    migrated_url: str, tmp_path: Path
) -> None:
    configure(tmp_path, migrated_url)
    revisions = json_of("db", "history", cwd=tmp_path)["revisions"]
    assert [r["down_revision"] for r in revisions[1:]] == [r["revision"] for r in revisions[:-1]]
    assert revisions[0]["down_revision"] is None
    assert all(r["message"] and r["applied"] for r in revisions)
    assert [r["revision"] for r in revisions if r["head"]] == [head_revision()]
    retention = next(r for r in revisions if r["revision"] == "0010")
    assert retention["message"].startswith("Outbox retention")


def test_a_revision_from_a_newer_rapport_is_named_as_such(
    migrated_url: str, tmp_path: Path
) -> None:
    configure(tmp_path, migrated_url)
    engine = make_engine(migrated_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    finally:
        engine.dispose()
    result = run_rapport("db", "current", cwd=tmp_path)
    assert result.returncode == 0 and "a revision this version of Rapport does not know" in (
        result.stdout
    )
    assert json_of("db", "current", cwd=tmp_path)["known"] is False
    history = json_of("db", "history", cwd=tmp_path)
    assert history["current"] == "9999" and not any(r["applied"] for r in history["revisions"])


def test_asking_about_a_sqlite_database_that_is_not_there_creates_nothing(
    tmp_path: Path,
) -> None:
    """Both commands only read: a database file (or folder) that does not exist yet is
    "no schema yet", and is still not there afterwards."""
    configure(tmp_path, "sqlite:///var/rapport.db")
    empty = run_rapport("db", "current", cwd=tmp_path)
    assert empty.returncode == 0, empty
    assert empty.stdout.startswith("no schema yet") and "rapport db upgrade" in empty.stdout
    assert str(tmp_path / "var" / "rapport.db") in empty.stdout  # which file it looked for
    assert json_of("db", "current", cwd=tmp_path)["current"] is None
    history = json_of("db", "history", cwd=tmp_path)
    assert not any(r["applied"] for r in history["revisions"])
    assert run_rapport("db", "history", cwd=tmp_path).returncode == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["config.yaml"]


def test_commands_that_need_the_schema_name_a_missing_sqlite_file_and_create_none(
    tmp_path: Path,
) -> None:
    """A mistyped database path is the operator's mistake: the command says which file it
    looked for and that `rapport db upgrade` makes it, and leaves no empty database."""
    configure(tmp_path, "sqlite:///var/rapport.db")
    for args in (
        ("report",),
        ("customers", "export", "C1"),
        ("consent", "show", "C1"),
        ("dispatch", "--once"),
    ):
        result = run_rapport(*args, cwd=tmp_path)
        assert result.returncode == 1, (args, result)
        assert f"no database at {tmp_path / 'var' / 'rapport.db'}" in result.stderr, args
        assert "rapport db upgrade" in result.stderr and "Traceback" not in result.stderr
        assert sorted(path.name for path in tmp_path.iterdir()) == ["config.yaml"], args
    assert run_rapport("db", "upgrade", cwd=tmp_path).returncode == 0
    assert (tmp_path / "var" / "rapport.db").exists()
