"""The web app: built from settings, an engine and a clock, so tests run it for real.

This module assembles the routes of every page family; no handler imports it. What
the handlers share is in :mod:`rapport.engine.web.context` (the app's services, token
resolution, the one 404), :mod:`~rapport.engine.web.pages`,
:mod:`~rapport.engine.web.webhook_auth` and :mod:`~rapport.engine.web.transactional`.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rapport.consent.tokens import Purpose
from rapport.engine.core.config import Settings
from rapport.engine.core.timeutil import Clock, utcnow
from rapport.engine.runtime import services
from rapport.engine.web import (
    admin,
    api,
    api_events,
    api_ingest,
    api_messages,
    email_events,
    feedback,
    health,
    preferences,
    sms_inbound,
    sms_receipts,
    unsubscribe,
)
from rapport.engine.web.accesslog import AccessLog
from rapport.engine.web.context import WebContext, error_page, http_error, not_found
from rapport.engine.web.csrf import CrossSiteRefusal
from rapport.engine.web.failures import UnexpectedErrors
from rapport.engine.web.headers import SecurityHeaders
from rapport.engine.web.limits import BodyLimit
from rapport.engine.web.pages import Pages
from rapport.engine.web.ratelimit import RateLimiter


async def _not_found_handler(request: Request, exc: Exception) -> Response:
    return not_found(request)


def create_app(settings: Settings, engine: Engine, *, clock: Clock = utcnow) -> Starlette:
    web = WebContext(
        settings=settings,
        engine=engine,
        signer=services.signer(settings),
        pages=Pages(settings.sender.brand),
        clock=clock,
        link_limiter=RateLimiter(
            settings.web.link_requests_per_hour,
            timedelta(hours=1),
            clock=clock,
            max_keys=settings.web.link_limiter_max_keys,
        ),
        max_age={
            Purpose.PREFERENCES: settings.web.preference_link_days * 86400,
            Purpose.UNSUBSCRIBE: settings.web.unsubscribe_link_days * 86400,
            Purpose.CONFIRM: settings.web.confirm_link_days * 86400,
            Purpose.FEEDBACK: 60 * 86400,
        },
    )
    routes = [
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        # On its own address when web.metrics_port is set (create_metrics_app).
        *([] if settings.web.metrics_port else [Route("/metrics", health.metrics)]),
        *preferences.routes,
        *unsubscribe.routes,
        *sms_inbound.routes,
        *sms_receipts.routes,
        *email_events.routes,
        *feedback.routes,
        *admin.routes,  # /admin/campaigns: the marketer's preview
        *api.routes,  # /api/v1 (docs/api.md)
        *api_ingest.routes,
        *api_events.routes,
        *api_messages.routes,
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),  # outermost: every answer gets the headers
            Middleware(UnexpectedErrors),  # a 500 logged without the data it may quote
            *([Middleware(AccessLog)] if settings.web.access_log else []),
            Middleware(
                BodyLimit,
                max_body_bytes=settings.web.max_body_bytes,
                max_webhook_body_bytes=settings.web.max_webhook_body_bytes,
                max_header_bytes=settings.web.max_header_bytes,
                page=error_page,
            ),
            Middleware(CrossSiteRefusal),
        ],
        exception_handlers={404: _not_found_handler, HTTPException: http_error},
    )
    # A path with a trailing slash is a 404 like any other unknown path: Starlette's
    # redirect would answer an API client with an empty 307, and build its Location
    # from the request's Host header (docs/api.md).
    app.router.redirect_slashes = False
    app.state.web = web
    # /readyz's database probe; `rapport run` adds scheduler_running and dispatch_problem.
    app.state.write_probe = health.WriteProbe(engine)
    app.state.metrics = health.MetricsSource(engine, settings.web.metrics_token)
    return app


def create_metrics_app(settings: Settings, engine: Engine) -> Starlette:
    """/metrics alone, for its own address (``web.metrics_host``/``metrics_port``): a
    port the firewall keeps for Prometheus, apart from the customers' pages."""
    app = Starlette(
        routes=[Route("/metrics", health.metrics, methods=["GET"])],
        middleware=[Middleware(BodyLimit, max_body_bytes=1024, max_webhook_body_bytes=1024)],
    )
    app.router.redirect_slashes = False  # as the app's: no Location from Host
    app.state.metrics = health.MetricsSource(engine, settings.web.metrics_token)
    return app
