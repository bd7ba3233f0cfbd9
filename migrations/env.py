"""Alembic environment: runs against the engine Rapport hands it, or a URL.

Each migration runs in its own transaction (``transaction_per_migration``), which
commits with the migration's revision: a migration that fails leaves the database at
the revision before it, and a migration may leave its transaction for an
``autocommit_block()`` (PostgreSQL builds an index of a live table with CREATE INDEX
CONCURRENTLY, which no transaction may hold: migration 0019). Alembic cannot leave a
transaction its caller began, so the connection is handed over outside one.
"""

from __future__ import annotations

from alembic import context

from rapport.engine.core.models import METADATA

target_metadata = METADATA
config = context.config


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from rapport.engine.core.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
