"""An exception no handler answered: logged without the data it may quote, answered 500.

Starlette's outermost middleware answers such an exception with a plain 500 and raises
it again, and the server then logs it with its text: for a database error that is the
driver's whole message, and PostgreSQL's ``DETAIL`` quotes the failing row ("Failing
row contains (..., Hi Ada, ...)") whatever the engine's ``hide_parameters`` hides. A
message body, a name or an address would be in the log.

:class:`UnexpectedErrors` sits just inside it and catches first. It logs one record on
``rapport.web``: the method, the route's template (never the path's token), and a
traceback of code only (file, line, function, the line of source), with each
exception's class; a message only where it cannot quote data: Rapport's own errors
(:class:`~rapport.engine.core.errors.RapportError`, written without personal data)
and a database error's primary message, which names the constraint or the problem,
never the values. Then it answers 500, ``{"error": "internal server error"}`` under
``/api/`` and ``/webhooks/`` (programs read JSON there), plain text elsewhere, and
does not raise again, so nothing else logs the exception with its text.
"""

from __future__ import annotations

import logging
import traceback

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapport.engine.core.errors import RapportError
from rapport.engine.web.accesslog import route_of
from rapport.engine.web.context import PROGRAM_PATHS

log = logging.getLogger("rapport.web")

#: Modules whose exceptions are a database driver's: their text may quote values.
_DRIVERS = ("psycopg", "sqlite3")


def _name(exc: BaseException) -> str:
    kind = type(exc)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def _driver_message(exc: BaseException) -> str:
    """A driver error's first line: PostgreSQL's primary message (its DETAIL, on the
    lines after, quotes rows), SQLite's one line (it names columns, not values)."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    text = primary if isinstance(primary, str) else str(exc)
    return text.split("\n", 1)[0]


def describe(exc: BaseException) -> str:
    """``exc``'s class, and its message where it cannot quote data."""
    if isinstance(exc, RapportError):
        return f"{_name(exc)}: {exc}"
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return f"{_name(exc)}: ({_name(exc.orig)}) {_driver_message(exc.orig)}"
    if type(exc).__module__.split(".")[0] in _DRIVERS and not isinstance(exc, SQLAlchemyError):
        return f"{_name(exc)}: {_driver_message(exc)}"
    return f"{_name(exc)} (its message is not logged: it may quote data)"


def safe_traceback(exc: BaseException) -> str:
    """A traceback of ``exc`` and the exceptions it came from, as Python prints one,
    with :func:`describe` in place of each exception's text."""
    parts: list[str] = []  # newest first; reversed at the end
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = traceback.StackSummary.extract(traceback.walk_tb(current.__traceback__))
        parts.append(
            "Traceback (most recent call last):\n" + "".join(frames.format()) + describe(current)
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


_CAUSE = "\n\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\n\nDuring handling of the above exception, another exception occurred:\n\n"


class UnexpectedErrors:
    """ASGI middleware: see the module's docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def noted(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, noted)
        except Exception as exc:
            log.error(
                "unexpected error answering %s %s\n%s",
                scope.get("method", "?"),
                route_of(scope),
                safe_traceback(exc),
            )
            if not started:  # else the server closes the half-sent answer
                await _answer(scope)(scope, receive, send)


def _answer(scope: Scope) -> Response:
    if str(scope.get("path", "")).startswith(PROGRAM_PATHS):
        return JSONResponse({"error": "internal server error"}, status_code=500)
    return PlainTextResponse("Internal Server Error", status_code=500)
