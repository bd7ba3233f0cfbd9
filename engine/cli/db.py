"""``rapport db upgrade``: create or migrate the database schema."""

from __future__ import annotations

import click

from rapport.engine.cli.app import AppContext, config_option


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@config_option
def db_upgrade(app: AppContext) -> None:
    """Create or migrate the schema to the latest revision."""
    from rapport.engine.core.db import current_revision, upgrade

    upgrade(app.engine)
    click.echo(f"database schema at revision {current_revision(app.engine)}")
