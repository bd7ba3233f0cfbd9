"""Request bodies are capped while they stream in: 413 past the cap, nothing read beyond.

:class:`BodyLimit` is ASGI middleware. A request whose line and headers add up to more
than ``web.max_header_bytes`` is answered 431 (the server refuses a head that grows past
it while still arriving, see :mod:`rapport.engine.web.server`). A request whose
``Content-Length`` exceeds its route's cap is answered 413 at once, before the app runs
or a byte of the body is read. A body without a length (chunked) or longer than it says
is counted as it arrives: the read that crosses the cap raises :class:`BodyTooLarge`, an
``HTTPException(413)``, inside the handler that asked, so nothing the handler would have
written is written, and the app's own error page answers if it has one (this middleware
answers with a short page otherwise). Every 413 closes the connection, so the rest of
the body is never read; so does any answer given before the app read the whole body.

Caps (``web.*`` in config.yaml): ``max_webhook_body_bytes`` for ``/webhooks/`` (a
provider's event batch), ``max_body_bytes`` for every other route: the pages' forms, and
any route added later (an API included) until it is given a cap of its own.

A client that stops sending (the server's body deadline closed the connection, see
:mod:`rapport.engine.web.server`) leaves nobody to answer; the resulting
``ClientDisconnect`` ends the request quietly instead of as a logged traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Builds the app's own refusal page: (request, status, headers) -> response.
RefusalPage = Callable[[Request, int, Mapping[str, str]], Response]

WEBHOOK_PREFIX = "/webhooks/"

_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>413 Content Too Large</title>"
    "<h1>Content Too Large</h1><p>The request was larger than this site accepts.</p></html>"
)
_HEAD_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8>"
    "<title>431 Request Header Fields Too Large</title>"
    "<h1>Request Header Fields Too Large</h1></html>"
)
_CLOSE = {"Connection": "close"}


class BodyTooLarge(HTTPException):
    """The body crossed its route's cap while the app was reading it."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes", headers=dict(_CLOSE))
        self.limit = limit


def too_large_response() -> HTMLResponse:
    return HTMLResponse(_PAGE, status_code=413, headers=dict(_CLOSE))


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_webhook_body_bytes: int,
        max_header_bytes: int | None = None,
        page: RefusalPage | None = None,
    ) -> None:
        self.app = app
        self.page = page
        self.max_body_bytes = max_body_bytes
        self.max_webhook_body_bytes = max_webhook_body_bytes
        self.max_header_bytes = max_header_bytes

    def refusal(self, scope: Scope, status: int) -> Response:
        """413 or 431, closing the connection: the app's page in the client's language
        when it has one, else a short English page."""
        if self.page is not None:
            return self.page(Request(scope), status, _CLOSE)
        if status == 431:
            return HTMLResponse(_HEAD_PAGE, status_code=431, headers=dict(_CLOSE))
        return too_large_response()

    def limit_for(self, path: str) -> int:
        if path.startswith(WEBHOOK_PREFIX):
            return self.max_webhook_body_bytes
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.max_header_bytes is not None and head_size(scope) > self.max_header_bytes:
            await self.refusal(scope, 431)(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await self.refusal(scope, 413)(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False
        # Read to its end by the app? A body left unread when the answer starts (a 404
        # before the form is parsed) would otherwise be read and dropped by the server
        # until the body deadline, however long it is.
        finished = not has_body(scope, declared)

        async def counted() -> Message:
            nonlocal received, exceeded, finished
            if exceeded:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(limit)
                finished = finished or not message.get("more_body", False)
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if exceeded or not finished:  # the rest of the body is not read
                    headers = [
                        (name, value)
                        for name, value in message.get("headers", [])
                        if name.lower() != b"connection"
                    ]
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, counted, answer)
        except BodyTooLarge:
            if started:
                raise
            await self.refusal(scope, 413)(scope, receive, send)
        except ClientDisconnect:
            return


def head_size(scope: Scope) -> int:
    """About the bytes of the request line and headers as sent."""
    size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    return size + sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))


def has_body(scope: Scope, declared: int | None) -> bool:
    """Whether the request says a body follows (a length over 0, or chunked)."""
    if declared:
        return True
    return any(
        name.lower() == b"transfer-encoding" and value.strip()
        for name, value in scope.get("headers", [])
    )


def declared_length(scope: Scope) -> int | None:
    """The largest Content-Length the request declares, or None (the server has
    already refused a malformed one)."""
    lengths = []
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                lengths.append(int(value))
            except ValueError:
                continue
    return max(lengths) if lengths else None
