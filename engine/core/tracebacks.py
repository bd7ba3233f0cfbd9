"""Tracebacks that do not quote what a database error carries.

A database error's text is the driver's whole message: PostgreSQL's ``DETAIL`` quotes
the failing row or key ("Failing row contains (..., Hi Ada, ...)"), whatever the
engine's ``hide_parameters`` hides, and a row holds names, addresses and message
bodies. :func:`safe_traceback` writes a traceback as Python prints one (the frames:
file, line, function and the line of source, never a variable's value), each
exception by :func:`describe`: a database error by its class and its primary message
(PostgreSQL's first line, which names the constraint or the problem; SQLite's one
line, which names columns), any other with its text. ``strict`` keeps the text of
Rapport's own errors only (:class:`~rapport.engine.core.errors.RapportError`, written
without personal data), for a path where an error may come from anywhere.

:mod:`rapport.engine.core.logs` formats every logged exception this way, so no
logger writes a row into the log; the web app logs its unexpected errors strictly
(:mod:`rapport.engine.web.failures`).
"""

from __future__ import annotations

import re
import traceback

from rapport.engine.core.errors import RapportError

#: Packages whose exceptions are a database driver's: their text may quote values.
_DRIVERS = ("psycopg", "sqlite3")
_CAUSE = "\n\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\n\nDuring handling of the above exception, another exception occurred:\n\n"


def _name(exc: BaseException) -> str:
    kind = type(exc)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def _driver_message(exc: BaseException) -> str:
    """A driver error's first line: PostgreSQL's primary message (its DETAIL, on the
    lines after, quotes rows), SQLite's one line."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    text = primary if isinstance(primary, str) else str(exc)
    # A value PostgreSQL could not read ends its primary message, after a colon
    # ('invalid input syntax for type integer: "..."'): left out; names elsewhere in
    # the line (relation "customer", column "email") stay.
    return _QUOTED_VALUE.sub(': "…"', text.split("\n", 1)[0])


_QUOTED_VALUE = re.compile(r':\s*".*$')


def describe(exc: BaseException, *, strict: bool = False) -> str:
    """``exc``'s class and its text, a database error's without what it may quote;
    ``strict``: the text of Rapport's own errors only."""
    orig = getattr(exc, "orig", None)  # SQLAlchemy's wrapper of the driver's error
    if type(exc).__module__.startswith("sqlalchemy.") and isinstance(orig, BaseException):
        return f"{_name(exc)}: ({_name(orig)}) {_driver_message(orig)}"
    if type(exc).__module__.split(".")[0] in _DRIVERS:
        return f"{_name(exc)}: {_driver_message(exc)}"
    if strict and not isinstance(exc, RapportError):
        return f"{_name(exc)} (its message is not logged: it may quote data)"
    text = str(exc)
    return f"{_name(exc)}: {text}" if text else _name(exc)


def database_problem(exc: BaseException) -> str:
    """One line saying why database work failed, for a log line or ``/readyz``: the
    class, and for a driver's error also its class and primary message, which name the
    problem and never a row ("OperationalError: database or disk is full",
    "InternalError (ReadOnlySqlTransaction): cannot execute UPDATE in a read-only
    transaction"). Any other exception: its class alone (its text may quote data)."""
    name = type(exc).__name__
    orig = getattr(exc, "orig", None)
    if not isinstance(orig, BaseException) or type(orig).__module__.split(".")[0] not in _DRIVERS:
        return name
    inner = type(orig).__name__
    label = name if inner == name else f"{name} ({inner})"
    message = _driver_message(orig).strip()[:200]
    return f"{label}: {message}" if message else label


def safe_traceback(exc: BaseException, *, strict: bool = False) -> str:
    """A traceback of ``exc`` and the exceptions it came from, as Python prints one,
    with :func:`describe` in place of each exception's text."""
    parts: list[str] = []  # newest first; reversed at the end
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = traceback.StackSummary.extract(traceback.walk_tb(current.__traceback__))
        parts.append(
            "Traceback (most recent call last):\n"
            + "".join(frames.format())
            + describe(current, strict=strict)
        )
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current, link = None, ""
        if current is not None and id(current) not in seen:
            parts.append(link)
    return "".join(reversed(parts))
