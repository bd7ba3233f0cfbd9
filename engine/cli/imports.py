"""``rapport import customers|orders|consent FILE``: CSV or JSON Lines, upsert by id.

Bad rows are reported (row number and reason) and skipped, good rows are kept;
any rejected row makes the command exit 1.
"""

from __future__ import annotations

import sys
import time as time_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rapport.engine.cli.app import AppContext, config_option

if TYPE_CHECKING:
    from rapport.engine.customers.importer import Kind


@click.command("import")
@click.argument("kind", type=click.Choice(["customers", "orders", "consent"]))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@config_option
def import_command(app: AppContext, kind: Kind, file: Path) -> None:
    """Import customers, orders or consent from CSV or JSON Lines (upsert by id)."""
    from rapport.engine.customers.importer import import_file

    progress = _progress_printer() if sys.stderr.isatty() else None
    report = import_file(app.migrated_engine(), app.settings, kind, file, progress=progress)
    if progress is not None:
        click.echo("", err=True)
    for problem in report.problems:
        click.echo(str(problem), err=True)
    if report.problems_not_listed:
        click.echo(f"... and {report.problems_not_listed} more problems not listed", err=True)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report.ignored_columns:
        click.echo(
            f"warning: {file}: ignored unknown column(s): {', '.join(report.ignored_columns)}",
            err=True,
        )
    click.echo(f"{kind}: {report.summary()}")
    if report.rejected:
        sys.exit(1)


def _progress_printer() -> Any:
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time_module.monotonic()
        if now - last[0] < 0.2 and done < total:
            return
        last[0] = now
        percent = 100 * done / total if total else 100
        click.echo(f"\rimporting: {percent:5.1f}%", nl=False, err=True)

    return show
