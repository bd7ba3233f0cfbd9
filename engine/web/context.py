"""What every web handler shares: the app's services, and how a signed link is resolved.

Every route that takes a signed token answers a bad, expired, tampered or
wrong-purpose token exactly like an unknown one (the same 404 page, :func:`not_found`),
so a link reveals nothing about who is a customer. Handlers import this module, never
:mod:`rapport.engine.web.app`, which imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, select
from starlette.requests import Request
from starlette.responses import HTMLResponse

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


def not_found(request: Request) -> HTMLResponse:
    """The one answer for every unusable link; its body depends only on the headers."""
    web = web_context(request)
    language = from_accept_language(request.headers.get("accept-language"))
    return HTMLResponse(web.pages.render("not_found.html", language), status_code=404)


def resolve(request: Request, purpose: Purpose) -> tuple[TokenClaims, Row[Any]] | None:
    """(claims, customer row) for the token in the path, or None for any bad token."""
    web = web_context(request)
    try:
        claims = web.verify(purpose, request.path_params["token"])
    except InvalidToken:
        return None
    row = web.customer(claims)
    return None if row is None else (claims, row)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
