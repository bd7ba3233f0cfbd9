"""Database engines and schema migrations.

SQLite is the zero-set-up default; PostgreSQL is chosen by URL and is what several
daemons coordinate through. Both go through the same models and migrations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

import rapport.migrations
from rapport.engine.core.errors import ConfigError, MissingExtra

MIGRATIONS_DIR = Path(rapport.migrations.__file__).parent
#: The distribution's name (pyproject.toml), for the install hint: the import package
#: and the command are ``rapport``, but that name belongs to another project on the index.
DISTRIBUTION = "rapport-engine"


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
    """An engine for ``url``; a URL that names no usable database is a ConfigError."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        parsed = None
    if parsed is None or parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            "database.url (or RAPPORT_DATABASE_URL): not a usable database URL; Rapport "
            "runs on sqlite:///PATH or postgresql://USER@HOST:PORT/NAME"
        )
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        # The dialect imports its driver here: psycopg, from the optional extra.
        return create_engine(url, pool_pre_ping=True)
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
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or migrate the schema to ``revision``."""
    command.upgrade(_alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return script.get_current_head()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def upsert_insert(connection: Connection, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT for this connection's dialect.

    Both SQLite and PostgreSQL have ON CONFLICT, but SQLAlchemy exposes it only on the
    dialect-specific ``insert`` constructs.
    """
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
