"""The ``rapport`` command: parse arguments, call the engine, format the output.

Exit codes: 0 ok, 1 invalid input (the message names file, line/row and field),
2 usage error, 3 runtime failure. Errors go to stderr; a user's mistake never shows
a traceback (set RAPPORT_DEBUG=1 to see one for runtime failures).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from rapport.engine.core.config import Settings, load_settings
from rapport.engine.core.errors import NotFound, RapportError, UsageError, UserError

F = TypeVar("F", bound=Callable[..., Any])
EXIT_INVALID, EXIT_USAGE, EXIT_RUNTIME = 1, 2, 3


class AppContext:
    """What every command needs, built lazily so ``--help`` never touches the database."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._settings: Settings | None = None
        self._engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from rapport.engine.core.db import make_engine

            self._engine = make_engine(self.settings.database_url)
        return self._engine

    def migrated_engine(self) -> Engine:
        """The engine, after checking the schema is there, with a hint if it is not."""
        from rapport.engine.core.db import current_revision, head_revision

        engine = self.engine
        current = current_revision(engine)
        if current is None:
            raise UserError("the database has no schema yet: run `rapport db upgrade` first")
        if current != head_revision():
            raise UserError(
                f"the database schema is at {current}, not {head_revision()}: "
                "run `rapport db upgrade`"
            )
        return engine


def config_option(func: F) -> F:
    """``--config`` on every command, as the command-line contract promises."""

    @click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="Configuration file (default: ./config.yaml).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, config_path: str | None, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        parent = ctx.find_object(AppContext)
        chosen = config_path or (parent.config_path if parent else None)
        app = AppContext(chosen)
        return func(app, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        reason = "no such day" if "range" in str(exc) else "not a date in YYYY-MM-DD form"
        raise click.BadParameter(f"{value!r}: {reason}", param_hint="'--date'") from None


def day_option(func: F) -> F:
    return click.option(
        "--date", "day", default=None, help="Day to plan for, YYYY-MM-DD (default: today)."
    )(func)


def today_utc() -> date:
    return datetime.now(UTC).date()


def planning_now(day: date, *, hypothetical: bool = False) -> datetime:
    """The moment to plan ``day`` from: the real clock, or the day's first moment if later.

    Planning ahead (a future date) must see every local window of that day still open;
    planning today must not schedule windows that have already closed. The earliest
    time zone (UTC+14) starts its day 14 hours before UTC does. A ``hypothetical``
    question about a past day (``plan --dry-run``, ``explain``) is answered as if it
    had been planned in time.
    """
    earliest = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=14)
    now = datetime.now(UTC)
    if hypothetical and day < now.date() - timedelta(days=1):
        return earliest
    return max(now, earliest)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        from rapport.engine.core.timeutil import isoformat_z

        return isoformat_z(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file (default: ./config.yaml).",
)
@click.version_option(package_name="rapport")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Rapport: permission-based, personalized messaging for customer retention."""
    ctx.obj = AppContext(config_path)


def main() -> None:
    """Entry point: map our exceptions to exit codes and clean messages."""
    from rapport.engine.cli import (
        commands,  # noqa: F401  (registers the sub-commands)
        customers,  # noqa: F401
        report,  # noqa: F401
    )
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


def run_async(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def resolve_path(value: str) -> Path:
    return Path(value)
