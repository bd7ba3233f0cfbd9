"""Alembic environment: runs against the engine Rapport hands it, or a URL."""

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
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        context.run_migrations()


run_migrations()
