"""The ``rapport`` command: the group with every command added, and its exit codes.

Exit codes: 0 ok, 1 invalid input (the message names file, line/row and field),
2 usage error, 3 runtime failure, 75 a daemon (``run``, ``dispatch``) stopped with
work cut off: a send still running at the end of the grace period, which the provider
may have accepted, or an outcome it could not write (``EXIT_ABANDONED`` in
``rapport.engine.runtime.daemon``). Errors go to stderr; a user's mistake never shows
a traceback (set RAPPORT_DEBUG=1 to see one for runtime failures).

The commands are added here, explicitly; no command registers itself by being
imported. Command modules import from ``rapport.engine.cli.app``, never from here.
"""

from __future__ import annotations

import os
import sys

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from rapport.engine.cli import (
    campaigns,
    consent,
    customers,
    daemon,
    db,
    demo,
    imports,
    plan,
    report,
)
from rapport.engine.cli.app import cli
from rapport.engine.core.errors import NotFound, RapportError, UsageError, UserError

EXIT_INVALID, EXIT_USAGE, EXIT_RUNTIME = 1, 2, 3

cli.add_command(db.db)
cli.add_command(imports.import_command)
cli.add_command(campaigns.campaigns)
cli.add_command(campaigns.preview)
cli.add_command(plan.plan)
cli.add_command(plan.explain)
cli.add_command(daemon.dispatch)
cli.add_command(daemon.run)
cli.add_command(daemon.serve)
cli.add_command(consent.consent)
cli.add_command(demo.demo)
cli.add_command(customers.customers)
cli.add_command(report.report)


def main() -> None:
    """Entry point: map our exceptions to exit codes and clean messages."""
    from rapport.engine.core import logs

    daemon_like = bool({"run", "serve", "dispatch"} & set(sys.argv[1:]))
    logs.configure(os.environ.get("RAPPORT_LOG_LEVEL", "INFO" if daemon_like else "WARNING"))
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_RUNTIME)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code)
    except NotFound as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    except UserError as exc:
        click.echo(str(exc) if exc.problems else f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    except UsageError as exc:
        click.echo(f"usage error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except (OperationalError, ProgrammingError) as exc:
        _runtime_failure(f"database error: {exc.orig}", exc)
    except RapportError as exc:
        _runtime_failure(str(exc), exc)
    except OSError as exc:
        _runtime_failure(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), exc)
    except KeyboardInterrupt:
        sys.exit(130)


def _runtime_failure(message: str, exc: BaseException) -> None:
    if os.environ.get("RAPPORT_DEBUG"):
        raise exc
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_RUNTIME)
