"""What every web handler shares: the app's services, and how a signed link is resolved.

Every route that takes a signed token answers a bad, expired, tampered or
wrong-purpose token exactly like an unknown one (the same 404 page, :func:`not_found`),
so a link reveals nothing about who is a customer. Handlers import this module, never
:mod:`rapport.engine.web.app`, which imports them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any

from sqlalchemy import Engine, Row, select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from rapport.consent.tokens import InvalidToken, Purpose, Signer, TokenClaims
from rapport.engine.core.config import Settings
from rapport.engine.core.i18n import from_accept_language
from rapport.engine.core.models import CUSTOMER
from rapport.engine.core.timeutil import Clock
from rapport.engine.web.pages import Pages
from rapport.engine.web.ratelimit import RateLimiter


@dataclass
class WebContext:
    """What every handler needs; kept on ``app.state.web``."""

    settings: Settings
    engine: Engine
    signer: Signer
    pages: Pages
    clock: Clock
    link_limiter: RateLimiter
    max_age: dict[Purpose, int] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock()

    def verify(self, purpose: Purpose, token: str) -> TokenClaims:
        return self.signer.verify(purpose, token, max_age=self.max_age[purpose])

    def customer(self, claims: TokenClaims) -> Row[Any] | None:
        """The customer a token names, or None if gone (erased customers count as gone)."""
        with self.engine.connect() as connection:
            return connection.execute(
                select(CUSTOMER).where(
                    CUSTOMER.c.id == claims.customer_id, CUSTOMER.c.erased_at.is_(None)
                )
            ).first()


def web_context(request: Request) -> WebContext:
    web: WebContext = request.app.state.web
    return web


#: Paths whose callers are programs: their refusals are JSON, not pages.
PROGRAM_PATHS = ("/webhooks/", "/api/")
#: The ``error`` of a refusal under :data:`PROGRAM_PATHS` where Python's phrase is an
#: older name (RFC 9110's, which newer Pythons use too): docs/api.md shows these.
PHRASES = {413: "content too large", 422: "unprocessable content"}


def not_found(request: Request) -> Response:
    """The one answer for every unusable link; its body depends only on the headers."""
    if request.url.path.startswith(PROGRAM_PATHS):
        return JSONResponse({"error": "not found"}, status_code=404)
    web = web_context(request)
    language = request_language(request)
    body = web.pages.render("not_found.html", language, link_request=link_request_url(web))
    return HTMLResponse(body, status_code=404)


def link_request_url(web: WebContext) -> str:
    """The "send me my link" page at ``web.base_url``: under its path too, when the app
    is served under one (a root-relative ``/preferences`` would leave it)."""
    return f"{web.settings.web.base_url.rstrip('/')}/preferences"


def request_language(request: Request) -> str:
    """The UI language the client asked for (Accept-Language), before any customer is known."""
    return from_accept_language(request.headers.get("accept-language"))


def error_page(request: Request, status: int, headers: Mapping[str, str] | None = None) -> Response:
    """A refusal (400, 403, 405, 413...) as a page in the client's language.

    Under ``/webhooks/`` and ``/api/`` the callers are programs, which get a JSON body
    instead (``{"error": ...}``, see docs/webhooks.md and docs/api.md).
    """
    if request.url.path.startswith(PROGRAM_PATHS):
        phrase = PHRASES.get(status) or HTTPStatus(status).phrase.lower()
        return JSONResponse({"error": phrase}, status_code=status, headers=headers)
    web = web_context(request)
    body = web.pages.render(
        "error.html", request_language(request), status=status, link_request=link_request_url(web)
    )
    return HTMLResponse(body, status_code=status, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    """The app's handler for Starlette's HTTPException: a form that cannot be parsed
    (400), a method a route does not take (405), and any other refusal the framework
    raises, answered with :func:`error_page` instead of a bare English line."""
    if not isinstance(exc, HTTPException):
        return error_page(request, 400)
    return error_page(request, exc.status_code, exc.headers)


async def resolve(request: Request, purpose: Purpose) -> tuple[TokenClaims, Row[Any]] | None:
    """(claims, customer row) for the token in the path, or None for any bad token.

    The customer is read in a worker thread, like all of a page's database work
    (:func:`run_in_threadpool`): a read or write that waits for the database (a lock
    another writer holds) must not stop the event loop, which serves every other
    request meanwhile."""
    web = web_context(request)
    try:
        claims = web.verify(purpose, request.path_params["token"])
    except InvalidToken:
        return None
    row = await run_in_threadpool(web.customer, claims)
    return None if row is None else (claims, row)


def client_ip(request: Request) -> str | None:
    """The client's IP address in its usual form, or None when it is none.

    Behind a trusted proxy uvicorn takes the address from ``X-Forwarded-For`` as
    written, so it may be any text; consent evidence keeps an address or nothing (its
    column holds 64 characters: longer text was a 500 on PostgreSQL)."""
    if request.client is None:
        return None
    try:
        return str(ipaddress.ip_address(request.client.host))
    except ValueError:
        return None


#: The most of a ``User-Agent`` the evidence keeps (``consent_event.user_agent``).
MAX_USER_AGENT = 500


def client_agent(request: Request) -> str | None:
    """The client's ``User-Agent``, cut to what the evidence keeps (a header may hold
    16 KiB; longer than the column was a 500 on PostgreSQL), or None without one."""
    return request.headers.get("user-agent", "")[:MAX_USER_AGENT] or None
