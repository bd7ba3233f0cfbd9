"""The web app: built from settings, an engine and a clock, so tests run it for real.

Every route that takes a signed token answers a bad, expired, tampered or
wrong-purpose token exactly like an unknown one (the same 404 page), so a link
reveals nothing about who is a customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from rapport.consent.tokens import InvalidToken, Purpose, Signer, TokenClaims
from rapport.engine.core.config import Settings
from rapport.engine.core.i18n import from_accept_language
from rapport.engine.core.keys import secret_key
from rapport.engine.core.models import Customer
from rapport.engine.core.timeutil import Clock, utcnow
from rapport.engine.web.pages import Pages
from rapport.engine.web.ratelimit import RateLimiter

CUSTOMER = Customer.__table__  # type: ignore[attr-defined]


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

    def customer(self, claims: TokenClaims):  # type: ignore[no-untyped-def]
        """The customer a token names, or None if gone (erased customers count as gone)."""
        with self.engine.connect() as connection:
            return connection.execute(
                select(CUSTOMER).where(
                    CUSTOMER.c.id == claims.customer_id, CUSTOMER.c.erased_at.is_(None)
                )
            ).first()


def web_context(request: Request) -> WebContext:
    return request.app.state.web  # type: ignore[no-any-return]


def not_found(request: Request) -> HTMLResponse:
    """The one answer for every unusable link; its body depends only on the headers."""
    web = web_context(request)
    language = from_accept_language(request.headers.get("accept-language"))
    return HTMLResponse(web.pages.render("not_found.html", language), status_code=404)


def resolve(request: Request, purpose: Purpose):  # type: ignore[no-untyped-def]
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


async def healthz(request: Request) -> Response:
    """Alive: the process answers. Says nothing about its dependencies, on purpose."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready: the database answers, its schema is current, and the scheduler (when this
    process runs one) is running. 503 with the failing checks otherwise."""
    from starlette.concurrency import run_in_threadpool

    from rapport.engine.core.db import current_revision, head_revision

    web = web_context(request)
    checks: dict[str, str] = {}
    try:
        revision = await run_in_threadpool(current_revision, web.engine)
        checks["database"] = "ok"
        checks["migrations"] = "ok" if revision == head_revision() else "not at head"
    except Exception as exc:  # any failure to reach the database means "not ready"
        checks["database"] = f"unreachable: {type(exc).__name__}"
    scheduler = getattr(request.app.state, "scheduler_running", None)
    if scheduler is not None:
        checks["scheduler"] = "ok" if scheduler() else "stopped"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


async def metrics(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    from rapport.engine.runtime.metrics import exposition

    body = await run_in_threadpool(exposition, web_context(request).engine)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


async def _not_found_handler(request: Request, exc: Exception) -> Response:
    return not_found(request)


def create_app(settings: Settings, engine: Engine, *, clock: Clock = utcnow) -> Starlette:
    from rapport.engine.web import email_events, feedback, preferences, sms_inbound, unsubscribe

    web = WebContext(
        settings=settings,
        engine=engine,
        signer=Signer(secret_key(settings)),
        pages=Pages(settings.sender.brand),
        clock=clock,
        link_limiter=RateLimiter(
            settings.web.link_requests_per_hour, timedelta(hours=1), clock=clock
        ),
        max_age={
            Purpose.PREFERENCES: settings.web.preference_link_days * 86400,
            Purpose.UNSUBSCRIBE: settings.web.unsubscribe_link_days * 86400,
            Purpose.CONFIRM: settings.web.confirm_link_days * 86400,
            Purpose.FEEDBACK: 60 * 86400,
        },
    )
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        *preferences.routes,
        *unsubscribe.routes,
        *sms_inbound.routes,
        *email_events.routes,
        *feedback.routes,
    ]
    app = Starlette(routes=routes, exception_handlers={404: _not_found_handler})
    app.state.web = web
    return app
