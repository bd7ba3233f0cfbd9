"""An exception no handler answered: logged without the data it may quote, answered 500.

Starlette's outermost middleware answers such an exception with a plain 500 and raises
it again, and the server then logs it with its text: for a database error that is the
driver's whole message, and PostgreSQL's ``DETAIL`` quotes the failing row ("Failing
row contains (..., Hi Ada, ...)") whatever the engine's ``hide_parameters`` hides.

:class:`UnexpectedErrors` sits just inside it and catches first. It logs one record on
``rapport.web``: the method, the route's template (never the path's token), and a
strict :func:`~rapport.engine.core.tracebacks.safe_traceback`: code only, each
exception's class, and a message only where it cannot quote data (Rapport's own
errors, a database error's primary message). Then it answers 500, ``{"error":
"internal server error"}`` under ``/api/`` and ``/webhooks/`` (programs read JSON
there), plain text elsewhere, and does not raise again, so nothing else logs the
exception with its text.
"""

from __future__ import annotations

import logging

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapport.engine.core.tracebacks import safe_traceback
from rapport.engine.web.accesslog import route_of
from rapport.engine.web.context import PROGRAM_PATHS

log = logging.getLogger("rapport.web")


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
                safe_traceback(exc, strict=True),
            )
            if not started:  # else the server closes the half-sent answer
                await _answer(scope)(scope, receive, send)


def _answer(scope: Scope) -> Response:
    if str(scope.get("path", "")).startswith(PROGRAM_PATHS):
        return JSONResponse({"error": "internal server error"}, status_code=500)
    return PlainTextResponse("Internal Server Error", status_code=500)
