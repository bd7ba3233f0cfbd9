"""The web app's access log (``web.access_log: true``), through the project's logging.

uvicorn's own access log is off (:mod:`rapport.engine.web.server`): it writes the raw
path and query string, which carry signed tokens (``/unsubscribe/<token>``,
``/admin/report?token=...``). This middleware logs one line per request on the
``rapport.web.access`` logger instead: the method, the matched route's template
(``/unsubscribe/{token}``: the token itself never reaches the line; for a path that
matched no route, or was refused before routing, only its first segment, and only when
some route of the app starts with it: ``/unsubscribe/...``, else ``/...``), the status
and the time taken. Never the query string, never the client's address. The line goes
through the root handler's redaction filter like every other.
"""

from __future__ import annotations

import contextlib
import logging
import time
import weakref
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapport.engine.core.logs import redact

log = logging.getLogger("rapport.web.access")

#: The literal first segments of each app's routes (``unsubscribe``, ``api``...).
_KNOWN: weakref.WeakKeyDictionary[Any, frozenset[str]] = weakref.WeakKeyDictionary()


def _first_segments(app: Any) -> frozenset[str]:
    """The first segments the routes of ``app`` start with, those that are not a
    parameter: the only words of a path that matched no route the log may show."""
    try:
        return _KNOWN[app]
    except (KeyError, TypeError):
        pass
    segments = frozenset(
        first
        for route in getattr(app, "routes", ())
        if isinstance(path := getattr(route, "path", None), str)
        and (first := path.lstrip("/").partition("/")[0])
        and "{" not in first
    )
    with contextlib.suppress(TypeError):
        _KNOWN[app] = segments
    return segments


def route_of(scope: Scope) -> str:
    """The route template the request matched, or, for a path that matched none, its
    first segment when a route of the app starts with it, else ``/...``: an unknown
    segment is whatever the client sent (an API token, a link's token without its
    prefix, a name), and no part of it may reach the log."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if isinstance(template, str):
        return template
    first, slash, _ = str(scope.get("path", "")).lstrip("/").partition("/")
    if first not in _first_segments(scope.get("app")):
        return "/..."
    return redact("/" + first + ("/..." if slash else ""))


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 0

        async def noted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:
            milliseconds = round((time.monotonic() - started) * 1000, 1)
            log.info(
                "%s %s %s",
                scope.get("method", "?"),
                route_of(scope),
                status or "no answer",
                extra={"status": status, "duration_ms": milliseconds},
            )
