"""The ``rapport`` command: the group with every command added, and its exit codes.

Exit codes: 0 ok, 1 invalid input (the message names file, line/row and field; a bad
``RAPPORT_LOG_LEVEL`` too), 2 usage error, 3 runtime failure, 75 a daemon (``run``,
``dispatch``) stopped with work cut off: a send still running at the end of the grace
period, which the provider may have accepted, or an outcome it could not write
(``EXIT_ABANDONED`` in ``rapport.engine.runtime.daemon``). Errors go to stderr.

No exception reaches the terminal as a traceback: one we did not expect (a bug) is
exit 3 with one line, ``rapport: unexpected error in <command>: <Type>: <message>``.
With ``RAPPORT_DEBUG=1`` a runtime failure or an unexpected error also prints its
traceback (same exit code); a user's mistake never does.

The commands are listed here, explicitly (:data:`COMMANDS`); no command registers
itself by being imported, and a command's module is imported when the command is
run or listed. Command modules import from ``rapport.engine.cli.app``, never from
here.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections import Counter
from collections.abc import Iterator, MutableMapping
from typing import NoReturn

import click

from rapport.engine.cli.app import cli, pause_collector, set_environment_error, tolerant_streams
from rapport.engine.core.errors import NotFound, RapportError, UsageError, UserError
from rapport.engine.core.tracebacks import describe

EXIT_INVALID, EXIT_USAGE, EXIT_RUNTIME = 1, 2, 3

#: Every command: its name and the command module and object that define it.
COMMANDS = {
    "db": "db:db",
    "import": "imports:import_command",
    "campaigns": "campaigns:campaigns",
    "preview": "campaigns:preview",
    "send-test": "send_test:send_test",
    "plan": "plan:plan",
    "explain": "plan:explain",
    "dispatch": "daemon:dispatch",
    "run": "daemon:run",
    "serve": "daemon:serve",
    "consent": "consent:consent",
    "demo": "demo:demo",
    "init": "init:init",
    "customers": "customers:customers",
    "report": "report:report",
    "outbox": "outbox:outbox",
    "api-token": "api_tokens:api_token",
}


class Commands(MutableMapping[str, click.Command]):
    """The group's commands, each module imported the first time its command is asked
    for: ``rapport explain`` imports plan.py and none of the other twelve command
    modules (with what they import at the top, 15-30 ms of every start); ``--help``
    lists them all and so imports them all. Click reads ``cli.commands`` as a mapping."""

    def __init__(self, where: dict[str, str]) -> None:
        self._where = dict(where)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        found = self._loaded.get(name)
        if found is None:
            module, attribute = self._where[name].split(":")
            found = getattr(importlib.import_module(f"rapport.engine.cli.{module}"), attribute)
            self._loaded[name] = found
        return found

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._where.setdefault(name, "")
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._where[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


cli.commands = Commands(COMMANDS)


#: The levels RAPPORT_LOG_LEVEL accepts (any case).
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_DAEMONS = {"run", "serve", "dispatch"}


def main() -> None:
    """Entry point: map our exceptions to exit codes and clean messages.

    The garbage collector is off until the command has read its configuration
    (:func:`~rapport.engine.cli.app.pause_collector`); a process that goes on after
    this returns (the tests') calls :func:`~rapport.engine.cli.app.restore_collector`.
    """
    pause_collector()
    tolerant_streams()
    from rapport.engine.core import logs

    command = command_name(sys.argv[1:])
    daemon = command.split(" ")[0] in _DAEMONS
    level = log_level(os.environ.get("RAPPORT_LOG_LEVEL"), daemon=daemon)
    # A bad level is the user's mistake (exit 1): the command meets it before it does
    # anything, and with --json reports it in its document (cli/app.py).
    set_environment_error(
        None
        if level is not None
        else UserError(
            f"RAPPORT_LOG_LEVEL={os.environ.get('RAPPORT_LOG_LEVEL')!r} is not a log "
            f"level: use one of {', '.join(LOG_LEVELS)}"
        )
    )
    logs.configure(level or default_level(daemon=daemon))
    try:
        if (option := repeated_option(cli, sys.argv[1:])) is not None:
            raise click.UsageError(
                f"{option} is given twice: it takes one value, and which one counted "
                "would be a guess; give it once (run the command again for another)"
            )
        cli.main(standalone_mode=False)
    except click.exceptions.Abort as exc:
        click.echo("Aborted.", err=True)
        # Click turns Ctrl-C into Abort: exit as a shell reports SIGINT (128 + 2).
        sys.exit(130 if isinstance(exc.__context__, KeyboardInterrupt) else EXIT_RUNTIME)
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
    except RapportError as exc:
        _runtime_failure(str(exc), exc)
    except OSError as exc:
        _runtime_failure(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), exc)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if (failure := _database_error(exc)) is not None:
            _runtime_failure(failure, exc)
        # a bug: one line, the traceback only on request
        if _from_database(exc):  # its text may quote the row (PostgreSQL's DETAIL)
            what = _one_line(describe(exc))
        else:
            said = _one_line(str(exc).strip().rstrip("."))
            what = f"{type(exc).__name__}: {said}" if said else type(exc).__name__
        hint = "" if debugging() else "; set RAPPORT_DEBUG=1 for the traceback"
        where = command or "rapport"
        _runtime_failure(f"unexpected error in {where}: {what}{hint}", exc, prefix="rapport")


def command_name(argv: list[str]) -> str:
    """The command ``argv`` runs, as the user would name it: ``report``, ``db upgrade``
    (empty when there is none, as with ``rapport --help``)."""
    words: list[str] = []
    group: click.Group = cli
    args = iter(argv)
    for arg in args:
        if arg == "--config":
            next(args, None)
        elif arg.startswith("-"):
            continue
        elif isinstance(found := group.commands.get(arg), click.Command):
            words.append(arg)
            if not isinstance(found, click.Group):
                break
            group = found
        else:
            break
    return " ".join(words)


def default_level(*, daemon: bool) -> str:
    """The level without RAPPORT_LOG_LEVEL: INFO for daemons, WARNING for the rest."""
    return "INFO" if daemon else "WARNING"


def log_level(value: str | None, *, daemon: bool) -> str | None:
    """The level RAPPORT_LOG_LEVEL asks for (default INFO for daemons, WARNING for the
    other commands), or None when it names no level."""
    if value is None or not value.strip():
        return default_level(daemon=daemon)
    level = value.strip().upper()
    return level if level in LOG_LEVELS else None


def debugging() -> bool:
    """RAPPORT_DEBUG is set to something other than empty, 0, false, no or off."""
    value = os.environ.get("RAPPORT_DEBUG", "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def _database_error(exc: Exception) -> str | None:
    """What to say of an SQLAlchemy OperationalError or ProgrammingError (a database
    that cannot be reached, a table missing): the driver's error; None for others.

    SQLAlchemy is not imported for this: a command that never imported it (``--help``
    must start fast) cannot have raised its errors.
    """
    found = sys.modules.get("sqlalchemy.exc")
    if found is not None and isinstance(exc, found.DatabaseError) and _not_a_database(exc):
        return (
            "database error: file is not a database: database.url (or "
            "RAPPORT_DATABASE_URL) names a file that is not a SQLite database"
        )
    if found is None or not isinstance(exc, (found.OperationalError, found.ProgrammingError)):
        return None
    return f"database error: {_one_line(describe(exc).split(') ', 1)[-1])}"


def _not_a_database(exc: Exception) -> bool:
    """SQLite's SQLITE_NOTADB: the URL names a file that is something else (a CSV
    export, /etc/passwd), which no command can use."""
    return getattr(getattr(exc, "orig", None), "sqlite_errorname", None) == "SQLITE_NOTADB"


def _from_database(exc: BaseException) -> bool:
    """An error of SQLAlchemy or of a database driver: its text may quote data."""
    return type(exc).__module__.split(".")[0] in ("sqlalchemy", "psycopg", "sqlite3")


def _one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line, without control characters, at most ``limit`` long."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _runtime_failure(message: str, exc: BaseException, *, prefix: str = "error") -> NoReturn:
    """Exit 3 with ``message`` (after the traceback when RAPPORT_DEBUG is set)."""
    if debugging():
        traceback.print_exception(exc, file=sys.stderr)
    click.echo(f"{prefix}: {message}", err=True)
    sys.exit(EXIT_RUNTIME)


# -- an option that takes one value may be given once ------------------------------
# Click keeps the last of two values without a word: ``rapport consent withdraw C1
# --channel email --topic offers --topic birthday`` withdrew birthday only, and the
# operator's withdrawal of offers was dropped; ``rapport --config a.yaml plan --config
# b.yaml`` read b.yaml only. repeated_option() finds such an option before the command
# runs, and main() refuses it (exit 2). Flags (``--json --json``) and options meant to
# repeat (``multiple=True``) are not counted.


def _one_value_options(commands: list[click.Command]) -> dict[str, str]:
    """Every spelling (``-o``, ``--output``) of an option that takes one value in
    ``commands``, mapped to its longest spelling (what the message names)."""
    spellings: dict[str, str] = {}
    for command in commands:
        for param in command.params:
            if not isinstance(param, click.Option) or param.is_flag or param.count:
                continue
            if param.multiple or param.nargs != 1:
                continue
            names = [*param.opts, *param.secondary_opts]
            longest = max(names, key=len)
            for name in names:
                spellings[name] = longest
    return spellings


def _commands(group: click.Group, argv: list[str]) -> list[click.Command]:
    """The group and the (sub)commands ``argv`` names, outermost first."""
    found: list[click.Command] = [group]
    current: click.Command = group
    for arg in argv:
        if arg.startswith("-") or not isinstance(current, click.Group):
            continue
        try:
            command = current.commands[arg]
        except KeyError:
            break
        found.append(command)
        current = command
    return found


def repeated_option(group: click.Group, argv: list[str]) -> str | None:
    """The first option taking one value that ``argv`` gives twice, or None."""
    spellings = _one_value_options(_commands(group, argv))
    seen: Counter[str] = Counter()
    args = iter(argv)
    for arg in args:
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            continue
        name, equals, _ = arg.partition("=")
        if name not in spellings and not name.startswith("--") and name[:2] in spellings:
            name, equals = name[:2], "="  # -oFILE: the value is attached
        option = spellings.get(name)
        if option is None:
            continue
        seen[option] += 1
        if seen[option] > 1:
            return option
        if not equals:
            next(args, None)  # its value, even one that starts with a dash
    return None
