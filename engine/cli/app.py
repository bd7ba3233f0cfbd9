"""What every ``rapport`` command shares: the group, its context, options, output.

The group ``cli`` is bare here; ``rapport.engine.cli.main`` adds the commands to it
(each command family is its own module that imports from this one) and maps errors
to exit codes. This module imports no command module.

Start-up is part of every command's cost (``rapport --help`` answers in well under a
quarter second): this module and every command module import only click and light
modules at the top; SQLAlchemy, pydantic, the models, Jinja, Babel, holidays, the web
stack and the like are imported inside the command function that uses them
(tests/engine/cli/test_startup_imports.py keeps it so).
"""

from __future__ import annotations

import codecs
import functools
import gc
import io
import json
import os
import sys
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import click

from rapport.engine.core.errors import UsageError, UserError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from rapport.engine.core.config import Settings

F = TypeVar("F", bound=Callable[..., Any])
P = ParamSpec("P")
R = TypeVar("R")


#: What :func:`pause_collector` and :func:`resume_collector` did to the garbage collector.
_collector = {"paused": False, "frozen": False}


def pause_collector() -> None:
    """Turn the cyclic garbage collector off while a command starts (``main()`` does).

    Start-up, importing the libraries and Rapport's modules and reading the
    configuration, allocates a few hundred thousand objects that live as long as the
    process and frees almost none of them; each full collection those allocations set
    off walks them all again, and the one at exit once more: about a tenth of a short
    command such as ``rapport explain``. :func:`resume_collector` turns it back on.
    """
    if gc.isenabled():
        gc.disable()
        _collector["paused"] = True


def resume_collector() -> None:
    """After :func:`pause_collector`, once the configuration is read: what start-up built
    is moved out of the collector's reach (``gc.freeze``: it lives until the process
    ends, so no later collection, the one at exit included, walks it again) and the
    collector is turned back on. Nothing happens when it was not paused (a command run
    through Click's test runner)."""
    if _collector["paused"]:
        _collector.update(paused=False, frozen=True)
        gc.freeze()
        gc.enable()


def restore_collector() -> None:
    """Undo :func:`pause_collector` and :func:`resume_collector`, for ``main()`` run
    inside a process that goes on afterwards (the tests run commands in their own)."""
    if _collector["frozen"]:
        gc.unfreeze()
    if _collector["paused"]:
        gc.enable()
    _collector.update(paused=False, frozen=False)


#: A mistake in the environment that ``main()`` found before the command ran (a bad
#: ``RAPPORT_LOG_LEVEL``). A command without ``--json`` stops on it before it does
#: anything (:func:`config_option`); one with ``--json`` meets it where it reads its
#: configuration, so that its document reports it, as it reports an invalid file.
_environment: dict[str, UserError | None] = {"error": None}


def set_environment_error(error: UserError | None) -> None:
    _environment["error"] = error


#: The files SQLite keeps beside a database.
_JOURNALS = ("-wal", "-shm", "-journal")


class AppContext:
    """What every command needs, built lazily so ``--help`` never touches the database."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._settings: Settings | None = None
        self._engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            if (error := _environment["error"]) is not None:
                raise error
            from rapport.engine.core.config import load_settings

            self._settings = load_settings(self.config_path)
            resume_collector()  # start-up is over: see pause_collector
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from rapport.engine.core.db import make_engine

            self._engine = make_engine(self.settings.database_url)
        return self._engine

    def missing_sqlite_file(self) -> Path | None:
        """The SQLite file the configuration names, when it does not exist.

        Connecting would create it (and its folder): a mistyped path would leave an
        empty database behind. Commands that need a schema or only read look first.
        """
        path = self._sqlite_file()
        return None if path is None or path.exists() else path

    def _sqlite_file(self) -> Path | None:
        """The SQLite file the configuration names (None for another database, an
        in-memory one or a URL that cannot be read: self.engine says what is wrong)."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        from rapport.engine.core.configtexts import database_url_problem
        from rapport.engine.core.db import in_memory, normalise_url

        named = normalise_url(self.settings.database_url)
        if database_url_problem(named) is not None:
            return None
        try:
            url = make_url(named)
        except (ArgumentError, ValueError):
            return None
        if url.get_backend_name() != "sqlite" or in_memory(url) or url.database is None:
            return None
        return Path(url.database)

    def check_output(self, path: Path, option: str) -> None:
        """Refuse to write a command's output over a file this installation reads: the
        configuration, the SQLite store (and its journal files), the signing key's
        file, or anything in the campaigns or templates folder (``report --html
        var/rapport.db``, a path completed one word too far, replaced the database with
        a page; ``-o campaigns/birthday.yaml`` a campaign). A symbolic link is judged
        by the file it points to, dangling or not, since writing goes through it."""
        settings = self.settings
        target = Path(os.path.realpath(path))
        shown = f"{path} (a link to {target})" if os.path.islink(path) else str(path)
        files = [(Path(self.config_path or "config.yaml"), "configuration")]
        if (database := self._sqlite_file()) is not None:
            files += [(database, "database")]
            files += [(database.with_name(database.name + end), "database") for end in _JOURNALS]
        files += [(settings.resolve(settings.secret_key_file), "signing key (secret_key_file)")]
        for mine, what in files:
            if _same_file(path, target, mine):
                raise UsageError(
                    f"{option}: {shown} is this installation's own {what}; name another file"
                )
        folders = [
            (settings.campaigns_path, "campaigns folder (campaigns_dir)"),
            (settings.templates_path, "templates folder (templates_dir)"),
        ]
        for folder, what in folders:
            if target.is_relative_to(os.path.realpath(folder)):
                raise UsageError(
                    f"{option}: {shown} is in this installation's own {what}; "
                    "name a file outside it"
                )

    def migrated_engine(self) -> Engine:
        """The engine, after checking the schema is there, with a hint if it is not."""
        from rapport.engine.core.db import current_revision, head_revision

        missing = self.missing_sqlite_file()
        if missing is not None:
            raise UserError(
                f"no database at {missing}: run `rapport db upgrade` first "
                "(or check database.url / RAPPORT_DATABASE_URL)"
            )
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

    def refuse_erased(self, customer_ids: Iterable[str | None], consequence: str) -> None:
        """Stop (exit 1) when a customer named on the command line was erased on request:
        ``explain``, ``preview`` and ``send-test`` on one ran as for anyone else, on the
        emptied profile, and never said so. The message names the id and the day of the
        erasure, nothing of the person, as ``consent grant`` does; ``consequence`` says
        what the command does not do for them."""
        from sqlalchemy import select

        from rapport.engine.core.models import CUSTOMER
        from rapport.engine.core.timeutil import as_utc

        wanted = [c for c in dict.fromkeys(customer_ids) if c is not None]
        if not wanted:
            return
        erased: dict[str, Any] = {}
        with self.migrated_engine().connect() as connection:
            for start in range(0, len(wanted), 500):  # inside SQLite's parameter limit
                query = select(CUSTOMER.c.id, CUSTOMER.c.erased_at).where(
                    CUSTOMER.c.id.in_(wanted[start : start + 500]),
                    CUSTOMER.c.erased_at.is_not(None),
                )
                erased.update((row.id, row.erased_at) for row in connection.execute(query))
        days = [(c, as_utc(erased[c]).date().isoformat()) for c in wanted if c in erased]
        if len(days) == 1:
            (customer, day), *_ = days
            raise UserError(f"customer {customer!r} was erased on request on {day}: {consequence}")
        if days:
            said = ", ".join(f"{customer!r} on {day}" for customer, day in days)
            raise UserError(f"customers {said} were erased on request: {consequence}")


def _same_file(path: Path, target: Path, mine: Path) -> bool:
    """Whether writing ``path`` (resolved: ``target``) would write ``mine``: the same
    file when both exist (hard links too), the same resolved path when either does not
    (a signing key not generated yet, a link to it)."""
    try:
        return os.path.samefile(path, mine)
    except OSError:  # either is missing (or unreadable)
        return target == Path(os.path.realpath(mine))


class _ConfigPath(click.Path):
    """A configuration file's path, never empty: ``rapport plan --config ""`` read
    ./config.yaml instead, and ``rapport --config "" plan`` the current folder."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("empty: name the configuration file, or leave --config out", param, ctx)
        return super().convert(value, param, ctx)


CONFIG_PATH = _ConfigPath(dir_okay=False)


class _TypedText(click.ParamType):
    """Text typed on the command line (a customer id, a campaign), as it was typed. Under a locale
    whose encoding is not UTF-8 (``LANG=C`` with Python's legacy encodings) Python reads
    the command line's UTF-8 bytes as surrogate escapes, and a Persian or Chinese id then
    stopped the command with 'unexpected error: UnicodeEncodeError' at the database: the
    bytes are read as UTF-8 again. Bytes that are not UTF-8 are a usage error."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str) or value.isascii() or not _escaped_bytes(value):
            return value
        raw = os.fsencode(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            shown = raw.decode("utf-8", "backslashreplace")
            self.fail(f"{shown!r} is not UTF-8 text", param, ctx)


def _escaped_bytes(value: str) -> bool:
    """Whether ``value`` holds surrogate escapes (undecodable command-line bytes)."""
    return any("\udc80" <= c <= "\udcff" for c in value)


#: Text given on the command line: a customer id, a campaign, an address, the source
#: and wording of a consent (see :class:`_TypedText`); never a file's name.
TYPED_TEXT = CUSTOMER_ID = _TypedText()


class _OutputPath(click.Path):
    """A file a command writes (``--html``), never empty: ``report --html ""`` tried to
    write the current folder, after the work was done."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("empty: name the file to write, or leave the option out", param, ctx)
        return super().convert(value, param, ctx)


def output_path(**options: Any) -> click.Path:
    """The type of an option naming a file to write (see :class:`_OutputPath`)."""
    return _OutputPath(dir_okay=False, **options)


def config_option(func: Callable[Concatenate[AppContext, P], R]) -> Callable[..., R]:
    """``--config`` on every command, as the command-line contract promises.

    The command receives the :class:`AppContext` first; click passes ``--config``.
    """

    @click.option(
        "--config",
        "config_path",
        type=CONFIG_PATH,
        default=None,
        help="Configuration file (default: ./config.yaml).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, config_path: str | None, **kwargs: Any) -> R:
        ctx = click.get_current_context()
        parent = ctx.find_object(AppContext)
        chosen = config_path or (parent.config_path if parent else None)
        if (error := _environment["error"]) is not None and not kwargs.get("as_json"):
            raise error
        app = AppContext(chosen)
        return func(app, *args, **kwargs)

    return wrapper


def parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    return checked_day(value, "--date")


def checked_day(value: str, option: str) -> date:
    """A day given to ``option``: YYYY-MM-DD, a real day, in the years of
    :data:`~rapport.engine.core.timeutil.DAY_YEARS` (a usage error, exit 2, otherwise).
    Read as the importer reads a date (``iso_date``): digits of any script as 0-9, so
    ``۲۰۲۶-۱۱-۲۶`` is a day here as in an import file."""
    from rapport.engine.core.timeutil import DAY_YEARS
    from rapport.engine.customers.fields import FieldInvalid, iso_date

    try:
        day = iso_date(value, option)
    except FieldInvalid as exc:
        raise click.BadParameter(f"{value!r}: {exc.reason}", param_hint=f"'{option}'") from None
    first, last = DAY_YEARS
    if not first <= day.year <= last:
        reason = f"must lie in the years {first} to {last}"
        raise click.BadParameter(f"{value!r}: {reason}", param_hint=f"'{option}'")
    return day


def day_option(func: F) -> F:
    return click.option(
        "--date", "day", default=None, help="Day to plan for, YYYY-MM-DD (default: today)."
    )(func)


def echo_json(value: Any) -> None:
    """One JSON document, non-ASCII kept, bidi and C1 controls escaped for the terminal
    and what stdout's encoding cannot hold escaped too (:func:`json_for_stdout`)."""
    click.echo(json_for_stdout(json.dumps(value, ensure_ascii=False, default=_json_default)))


def json_for_stdout(text: str) -> str:
    """JSON text as stdout can take it: DEL, C1 and bidi controls escaped
    (``json_for_terminal``), and, on a stdout whose encoding cannot hold a character (a
    redirect under a Latin-1 or C locale), that character as a ``\\u`` escape, a
    surrogate pair beyond the BMP. Outside strings JSON holds only ASCII, so it is the
    same document; on a UTF-8 stdout nothing more is escaped."""
    from rapport.engine.core.text import json_for_terminal

    text = json_for_terminal(text)
    encoding = _encoding(sys.stdout)
    if encoding is None or text.isascii():
        return text
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return "".join(c if c.isascii() else _json_escaped(c, encoding) for c in text)
    return text


def _json_escaped(char: str, encoding: str) -> str:
    try:
        char.encode(encoding)
        return char
    except UnicodeEncodeError:
        units = char.encode("utf-16-be", "surrogatepass")
        return "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))


def _encoding(stream: Any) -> str | None:
    """The codec name of ``stream``'s encoding; None for UTF-8 (or UTF-16/32, which
    hold every character) and for an encoding Python does not know."""
    try:
        name = codecs.lookup(getattr(stream, "encoding", None) or "utf-8").name
    except LookupError:
        return None
    return None if name.startswith(("utf-8", "utf-16", "utf-32")) else name


def tolerant_streams() -> None:
    """Make stdout and stderr write a character their encoding cannot hold as a
    backslash escape (``\\u0634``) instead of raising UnicodeEncodeError: a Persian or
    Chinese name, id or file name printed under a Latin-1 or C/POSIX locale (or
    ``PYTHONIOENCODING=latin-1``, ``ascii``) stopped the command half way with
    'unexpected error'. A stream in UTF-8 is left as it is (``main()`` calls this)."""
    for stream in (sys.stdout, sys.stderr):
        if _encoding(stream) is not None and isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


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
    type=CONFIG_PATH,
    default=None,
    help="Configuration file (default: ./config.yaml).",
)
@click.version_option(package_name="rapport-engine")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Rapport: permission-based, personalized messaging for customer retention."""
    ctx.obj = AppContext(config_path)


def run_async(coroutine: Any) -> Any:
    import asyncio

    return asyncio.run(coroutine)


def resolve_path(value: str) -> Path:
    return Path(value)
