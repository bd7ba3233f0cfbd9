"""Database engines and schema migrations.

SQLite is the zero-set-up default; PostgreSQL is chosen by URL and is what several
daemons coordinate through. Both go through the same models and migrations.

Alembic is imported only to migrate: every command checks the schema is current
before it starts, and reads both revisions without it (:func:`current_revision`,
:func:`head_revision`): importing Alembic (Mako and Pygments with it) takes about
50 ms, half of what ``rapport explain`` does once everything is imported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

import rapport.migrations
from rapport.engine.core.configtexts import UNUSABLE_URL, database_url_problem
from rapport.engine.core.errors import ConfigError, MissingExtra, UsageError
from rapport.engine.core.migrationlock import migration_lock

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS_DIR = Path(rapport.migrations.__file__).parent
#: Where Alembic keeps the revision a database is at (its default name).
VERSION_TABLE = "alembic_version"
#: The distribution's name (pyproject.toml), for the install hint: the import package
#: and the command are ``rapport``, but that name belongs to another project on the index.
DISTRIBUTION = "rapport-engine"
#: The one driver Rapport runs each database through (psycopg is psycopg 3).
DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg"}


class UnsupportedDriver(UsageError):
    """A database URL names a driver Rapport does not run on (``postgresql+psycopg2://``,
    ``postgresql+asyncpg://``): exit 2 saying which URLs it takes, not an ImportError."""


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (psycopg2 is not a dependency)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers proceed while the single writer writes; the busy timeout makes
    # a second process wait for the write lock instead of failing at once.
    # secure_delete zeroes the space a cleared or deleted value leaves behind, so an
    # erased customer's name is not left in free space (see consent/privacy.py); its
    # cost is the zeroing of freed pages, which Rapport rarely frees.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def in_memory(url: URL) -> bool:
    """An in-memory SQLite database: it exists once per connection, so its work can
    be neither handed to another process nor to another thread's connection."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a URL that names no usable database is a ConfigError.

    Its errors never quote a statement's values (``hide_parameters``): they are names,
    addresses and message bodies, and an error ends up in a log.
    """
    url = normalise_url(url)
    problem = database_url_problem(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        parsed = None
    if parsed is None or parsed.get_backend_name() not in ("sqlite", "postgresql"):
        problem = problem or UNUSABLE_URL
    if problem or parsed is None:
        raise ConfigError(f"database.url (or RAPPORT_DATABASE_URL): {problem}")
    if parsed.get_driver_name() != DRIVERS[parsed.get_backend_name()]:
        raise UnsupportedDriver(
            f"database.url (or RAPPORT_DATABASE_URL): Rapport does not run on the "
            f"{parsed.get_driver_name()!r} driver: PostgreSQL goes through psycopg 3, as "
            f"postgresql://USER@HOST:PORT/NAME or postgresql+psycopg://... (pip install "
            f"'{DISTRIBUTION}[postgresql]'), SQLite as sqlite:///PATH"
        )
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and Path(database).is_dir():
            folder = database.rstrip("/")
            raise ConfigError(
                f"database.url (or RAPPORT_DATABASE_URL): {folder} is a folder: name the "
                f"database file in it, e.g. sqlite:///{folder}/rapport.db"
            )
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        # The dialect imports its driver here: psycopg, from the optional extra.
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    except ImportError as exc:
        if not _driver_missing(exc):
            raise
        raise MissingExtra(
            "PostgreSQL support is not installed: "
            f"pip install '{DISTRIBUTION}[postgresql]' (database.url or RAPPORT_DATABASE_URL "
            "names a postgresql:// database)"
        ) from None


def _driver_missing(exc: ImportError) -> bool:
    """psycopg is absent, or present without the C library binding it needs (psycopg's
    own ImportError, "no pq wrapper available", names no module)."""
    return (exc.name or "").split(".")[0] in ("psycopg", "psycopg_binary") or (
        "pq wrapper" in str(exc)
    )


def _alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(
    engine: Engine, revision: str = "head", on_wait: Callable[[], None] | None = None
) -> None:
    """Create or migrate the schema to ``revision``, one upgrade at a time: another
    that is under way is waited for (``on_wait`` is called first; see
    :mod:`rapport.engine.core.migrationlock`)."""
    from alembic import command

    with migration_lock(engine, on_wait):
        command.upgrade(_alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the schema is at (None before the first upgrade), read from
    Alembic's version table as Alembic reads it; a table holding several revisions
    (branches, which Rapport's one line of migrations never makes) is left to Alembic,
    which says what is wrong."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
        if len(rows) <= 1:
            return str(rows[0][0]) if rows else None
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(connection).get_current_revision()


# A migration's own revision, its parent and what it depends on, as the template writes
# them (migrations/script.py.mako): one top-level line each.
_HEADER = re.compile(r"^(revision|down_revision|depends_on)\b[^=\n]*=[ \t]*(.*?)[ \t]*$", re.M)
_ID = re.compile(r"""None|"(\w+)"|'(\w+)'""")


def head_revision() -> str | None:
    """The newest migration's revision: what ``rapport db upgrade`` brings a database to.

    Read from the migration files' headers when they make one line of revisions (each
    names one parent and depends on nothing else), which is how Rapport writes them;
    anything else (a merge, a dependency, a header in another form) is left to Alembic.
    tests/engine/core/test_schema.py checks both give the same answer.
    """
    parents: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        if path.name == "__init__.py":
            continue
        header = _linear_header(path.read_text(encoding="utf-8"))
        if header is None:
            return _alembic_head()
        parents[header[0]] = header[1]
    heads = set(parents) - set(parents.values())
    return heads.pop() if len(heads) == 1 else _alembic_head()


def _linear_header(source: str) -> tuple[str, str | None] | None:
    """A migration's revision and its one parent (None for the first), or None when
    its header is anything but that."""
    header: dict[str, list[str | None]] = {}
    for name, value in _HEADER.findall(source):
        found = _ID.fullmatch(value)
        if found is None:
            return None
        header.setdefault(name, []).append(found.group(1) or found.group(2))
    own, parent = header.get("revision", []), header.get("down_revision", [])
    if len(own) != 1 or own[0] is None or len(parent) != 1:
        return None
    if header.get("depends_on", [None]) != [None]:
        return None
    return own[0], parent[0]


def _alembic_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def upsert_insert(connection: Connection, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT for this connection's dialect.

    Both SQLite and PostgreSQL have ON CONFLICT, but SQLAlchemy exposes it only on the
    dialect-specific ``insert`` constructs. Each dialect is imported when first used:
    the PostgreSQL one costs about 20 ms of every command on SQLite otherwise.
    """
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)
