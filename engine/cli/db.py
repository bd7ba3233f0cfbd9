"""``rapport db upgrade|current|history``: the database schema and its migrations.

``current`` names the revision of the configured database and whether it is the
newest this version of Rapport has (its head); ``history`` lists every revision,
oldest first, with what it changed and whether the database has it. Both read
Alembic's own records (the ``alembic_version`` table and the migration scripts) and
change nothing (a SQLite file that does not exist is not created: it has no schema
yet); both exit 0 whatever they find, and print one JSON document with ``--json``.
"""

from __future__ import annotations

from typing import Any

import click

from rapport.engine.cli.app import AppContext, config_option, echo_json

_JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@config_option
def db_upgrade(app: AppContext) -> None:
    """Create or migrate the schema to the latest revision (one upgrade at a time: one
    already under way is waited for)."""
    from rapport.engine.core.db import current_revision, upgrade

    def waiting() -> None:
        click.echo(
            "another `rapport db upgrade` is migrating this database; waiting for it to finish",
            err=True,
        )

    upgrade(app.engine, on_wait=waiting)
    click.echo(f"database schema at revision {current_revision(app.engine)}")


def _scripts() -> Any:
    from alembic.script import ScriptDirectory

    from rapport.engine.core.db import MIGRATIONS_DIR

    return ScriptDirectory(str(MIGRATIONS_DIR))


def _applied(scripts: Any, current: str | None) -> set[str] | None:
    """The revisions a database at ``current`` has; None when this version of Rapport
    does not know ``current`` (a database migrated by a newer one)."""
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    if current is None:
        return set()
    try:
        return {script.revision for script in scripts.iterate_revisions(current, "base")}
    except (CommandError, RevisionError):
        return None


def _current(app: AppContext) -> str | None:
    """The database's revision, None before the first upgrade."""
    from rapport.engine.core.db import current_revision

    return None if app.missing_sqlite_file() is not None else current_revision(app.engine)


@db.command("current")
@_JSON
@config_option
def db_current(app: AppContext, as_json: bool) -> None:
    """The schema revision of the configured database, and whether it is the newest."""
    scripts = _scripts()
    current = _current(app)
    head = scripts.get_current_head()
    known = _applied(scripts, current) is not None
    script = scripts.get_revision(current) if current is not None and known else None
    message: str | None = _plain(script.doc) if script is not None else None
    if as_json:
        echo_json(
            {
                "current": current,
                "head": head,
                "at_head": current == head,
                "known": known,
                "message": message,
            }
        )
        return
    if current is None:
        missing = app.missing_sqlite_file()
        where = f"; no database file at {missing} yet" if missing is not None else ""
        click.echo(f"no schema yet (newest revision: {head}{where}): run `rapport db upgrade`")
    elif not known:
        click.echo(
            f"{current}: a revision this version of Rapport does not know (its newest is "
            f"{head}): the database was migrated by a newer version"
        )
    elif current == head:
        click.echo(f"{current} (head): {message}")
    else:
        click.echo(f"{current}: {message}")
        click.echo(f"not at head ({head}): run `rapport db upgrade`")


@db.command("history")
@_JSON
@config_option
def db_history(app: AppContext, as_json: bool) -> None:
    """Every schema revision, oldest first, with its message and whether the database
    has it."""
    scripts = _scripts()
    current = _current(app)
    applied = _applied(scripts, current) or set()
    revisions = [
        {
            "revision": script.revision,
            "down_revision": script.down_revision,
            "message": _plain(script.doc),
            "applied": script.revision in applied,
            "current": script.revision == current,
            "head": script.is_head,
        }
        for script in reversed(list(scripts.walk_revisions()))
    ]
    if as_json:
        echo_json({"current": current, "revisions": revisions})
        return
    for entry in revisions:
        mark = "applied" if entry["applied"] else "pending"
        tags = [tag for tag in ("current", "head") if entry[tag]]
        tagged = f" ({', '.join(tags)})" if tags else ""
        click.echo(f"{entry['revision']} {mark:<7} {entry['message']}{tagged}")


def _plain(doc: str | None) -> str | None:
    """A revision's first line as an operator reads it (no reStructuredText quotes)."""
    return doc.replace("``", "`") if doc else doc
