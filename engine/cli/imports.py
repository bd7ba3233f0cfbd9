"""``rapport import customers|orders|consent FILE``: CSV or JSON Lines, upsert by id.

Bad rows are reported (row number and reason) and skipped, good rows are kept;
any rejected row makes the command exit 1, and so does a consent row contradicting
the recorded evidence of its fact (reported, counted ``conflicting``). A row naming a
customer erased on request is skipped too, but is not a mistake: it is listed
(``FILE:ROW: id: skipped: erased on request on DATE``) and counted, and does not
change the exit status. ``--json`` prints the counts, problems, warnings and skips as
one document instead (see :mod:`rapport.engine.cli.jsonout`).
"""

from __future__ import annotations

import sys
import time as time_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rapport.engine.cli.app import AppContext, config_option, echo_json
from rapport.engine.cli.jsonout import problems_json, user_errors_as_json
from rapport.engine.core.text import counted, printable

if TYPE_CHECKING:
    from rapport.engine.customers.importer import ImportReport, Kind


@click.command("import")
@click.argument("kind", type=click.Choice(["customers", "orders", "consent"]))
# Not dir_okay=False: click would refuse a directory as a usage error (exit 2, no
# --json document); the importer names it as a file it cannot read (exit 1).
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON document.")
@config_option
def import_command(app: AppContext, kind: Kind, file: Path, as_json: bool) -> None:
    """Import customers, orders or consent from CSV or JSON Lines (upsert by id)."""
    from rapport.engine.customers.importer import ImportReport, import_file

    progress = _progress_printer() if sys.stderr.isatty() and not as_json else None
    with user_errors_as_json(as_json, report_json(ImportReport(kind=kind, file=str(file)))):
        report = import_file(app.migrated_engine(), app.settings, kind, file, progress=progress)
    if as_json:
        echo_json(report_json(report))
        if report.rejected or report.conflicting:
            sys.exit(1)
        return
    if progress is not None:
        click.echo("", err=True)
    for problem in report.problems:
        click.echo(str(problem), err=True)
    if report.problems_not_listed:
        more = counted(report.problems_not_listed, "more problem")
        click.echo(f"... and {more} not listed", err=True)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for skipped in report.skipped:
        click.echo(str(skipped), err=True)
    if report.ignored_columns:
        # The file's own text: an escape sequence in a column name would act on the
        # terminal (--json keeps the names as they are, JSON escapes them).
        names = ", ".join(printable(name) for name in report.ignored_columns)
        columns = "column" if len(report.ignored_columns) == 1 else "columns"
        click.echo(f"warning: {file}: ignored unknown {columns}: {names}", err=True)
    click.echo(f"{kind}: {report.summary()}")
    if report.rejected or report.conflicting:
        sys.exit(1)


def report_json(report: ImportReport) -> dict[str, Any]:
    """The ``--json`` document of an import: counts, then every problem and warning."""
    return {
        "ok": not report.rejected and not report.conflicting and not report.problems,
        "kind": report.kind,
        "file": report.file,
        "rows_read": report.rows_read,
        "accepted": report.accepted,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "repeated": report.repeated,
        "conflicting": report.conflicting,
        "rejected": report.rejected,
        "erased_skipped": report.erased_skipped,
        "problems": problems_json(report.problems),
        "problems_not_listed": report.problems_not_listed,
        "warnings": problems_json(report.warnings),
        "skipped": problems_json(report.skipped),
        "ignored_columns": list(report.ignored_columns),
    }


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
