"""The marketer's preview pages, behind the admin token (issue 19, point 5).

``/admin/campaigns``: every campaign with its topic, channels, trigger, locales and
next occasions (:mod:`rapport.engine.campaigns.upcoming`, read in the calendars of the
customers' countries). ``/admin/campaigns/{name}``: the campaign's e-mail and SMS in
each locale (:mod:`rapport.engine.planning.campaign_preview`), for a synthetic sample
customer, or for a real one with ``?customer=ID``, on ``?date=YYYY-MM-DD`` (default
today). An unknown campaign or customer is a 404 page saying which; a template that
does not render is shown as its FILE:LINE problem on the page.

Like ``/admin/report`` the pages need the admin token (``RAPPORT_REPORT_TOKEN``) as
``Authorization: Bearer <token>`` or ``?token=``: 401 without it, 503 while none is
configured. The access log never shows the query string, so a token given there is
not logged (:mod:`rapport.engine.web.accesslog`). The pages' policy is
:data:`rapport.engine.web.campaign_pages.PREVIEW_POLICY`: no script at all.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from sqlalchemy import Engine, func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from rapport.engine.campaigns.model import find_campaign, load_campaigns
from rapport.engine.campaigns.upcoming import MAX_COUNTRIES, MAX_OCCASIONS, next_occasions
from rapport.engine.campaigns.validate import template_locales
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import NotFound
from rapport.engine.core.models import CUSTOMER, OUTBOX, MessageStatus
from rapport.engine.core.timeutil import DAY_YEARS
from rapport.engine.customers.fields import FieldInvalid, iso_date
from rapport.engine.planning.campaign_preview import preview_campaign
from rapport.engine.rendering.renderer import Renderer
from rapport.engine.runtime import services
from rapport.engine.web.campaign_pages import (
    PREVIEW_POLICY,
    CampaignRow,
    campaign_page,
    campaigns_page,
    problem_page,
)
from rapport.engine.web.context import web_context

__all__ = ["admin_refusal", "routes"]

#: The years a preview's day may lie in (as the report's period).
PREVIEW_YEARS = DAY_YEARS

_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": PREVIEW_POLICY,
}


def admin_refusal(request: Request) -> Response | None:
    """None when the request carries the admin token, else the answer to give: 503
    while no token is configured, 401 without the right one."""
    token = web_context(request).settings.web.report_token
    if not token:
        return PlainTextResponse("admin pages disabled: no admin token configured", 503)
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    given = given or request.query_params.get("token", "")
    if given and hmac.compare_digest(given.encode(), token.encode()):
        return None
    return PlainTextResponse(
        "admin token required", status_code=401, headers={"WWW-Authenticate": "Bearer"}
    )


def _link_token(request: Request) -> str | None:
    """The token to carry in the page's links: only when it came in the query string
    (a client sending the header sends it again)."""
    return request.query_params.get("token") or None


def _renderer(request: Request) -> Renderer:
    """One renderer per app for these pages, built on first use (compiled templates
    are kept, as in the daemon)."""
    state = request.app.state
    found: Renderer | None = getattr(state, "preview_renderer", None)
    if found is None:
        found = state.preview_renderer = services.renderer(web_context(request).settings)
    return found


def customer_countries(engine: Engine, limit: int = MAX_COUNTRIES) -> list[str]:
    """Some countries the customers live in, for the holiday campaigns' next dates."""
    query = (
        select(CUSTOMER.c.country)
        .distinct()
        .where(CUSTOMER.c.country.is_not(None), CUSTOMER.c.erased_at.is_(None))
        .order_by(CUSTOMER.c.country)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [str(country) for country in connection.scalars(query)]


#: The most (campaign, day) groups of queued messages the list reads.
MAX_PLANNED_GROUPS = 500


def planned_sends(engine: Engine, now: datetime) -> dict[str, list[tuple[str, int]]]:
    """Per campaign, the days (UTC) on which planned messages wait to be sent, and how
    many: the occasions the planner has already found, whatever the trigger. Read from
    the outbox's due index (status, send_at); the daemon plans a day or two ahead."""
    day = func.date(OUTBOX.c.send_at)
    query = (
        select(OUTBOX.c.campaign, day, func.count())
        .where(OUTBOX.c.status == MessageStatus.QUEUED, OUTBOX.c.send_at >= now)
        .group_by(OUTBOX.c.campaign, day)
        .order_by(day)
        .limit(MAX_PLANNED_GROUPS)
    )
    found: dict[str, list[tuple[str, int]]] = {}
    with engine.connect() as connection:
        for campaign, when, count in connection.execute(query):
            found.setdefault(str(campaign), []).append((str(when)[:10], int(count)))
    return found


def campaign_rows(
    settings: Settings, engine: Engine, renderer: Renderer, now: datetime
) -> tuple[list[CampaignRow], list[str]]:
    """The list page's rows, and the problems of campaign files that did not load."""
    campaigns, problems = load_campaigns(settings)
    countries = customer_countries(engine)
    planned = planned_sends(engine, now)
    rows = [
        CampaignRow(
            campaign_id=campaign.id,
            name=campaign.name,
            topic=campaign.topic,
            channels=campaign.channels,
            locales=template_locales(renderer, campaign.template_set, settings),
            paused=campaign.paused,
            upcoming=next_occasions(campaign, settings, now.date(), countries),
            planned=planned.get(campaign.id, [])[:MAX_OCCASIONS],
        )
        for campaign in sorted(campaigns, key=lambda c: c.id)
    ]
    return rows, [str(problem) for problem in problems]


async def campaigns_list(request: Request) -> Response:
    refusal = admin_refusal(request)
    if refusal is not None:
        return refusal
    web = web_context(request)
    renderer = _renderer(request)
    rows, problems = await run_in_threadpool(
        campaign_rows, web.settings, web.engine, renderer, web.now()
    )
    body = campaigns_page(rows, problems, token=_link_token(request))
    return HTMLResponse(body, headers=_HEADERS)


async def campaign_preview(request: Request) -> Response:
    refusal = admin_refusal(request)
    if refusal is not None:
        return refusal
    web = web_context(request)
    name = request.path_params["name"]
    customer = request.query_params.get("customer", "").strip() or None
    day_text = request.query_params.get("date", "").strip()
    try:  # as `rapport preview --date` reads it: YYYY-MM-DD, digits of any script
        day = iso_date(day_text) if day_text else web.now().date()
    except FieldInvalid:
        day = None
    if day is None or not PREVIEW_YEARS[0] <= day.year <= PREVIEW_YEARS[1]:
        first, last = PREVIEW_YEARS
        said = f"date must be a day written YYYY-MM-DD, in the years {first} to {last}"
        return HTMLResponse(problem_page("Bad date", said), status_code=400, headers=_HEADERS)
    campaigns, _ = load_campaigns(web.settings)
    campaign = find_campaign(campaigns, name)
    if campaign is None:
        body = problem_page("No such campaign", f"There is no campaign {name!r}.")
        return HTMLResponse(body, status_code=404, headers=_HEADERS)
    try:
        preview = await run_in_threadpool(
            preview_campaign,
            campaign,
            web.settings,
            _renderer(request),
            day,
            engine=web.engine,
            signer=web.signer,
            customer_id=customer,
        )
    except NotFound:
        body = problem_page("No such customer", f"There is no customer with id {customer!r}.")
        return HTMLResponse(body, status_code=404, headers=_HEADERS)
    body = campaign_page(preview, web=True, token=_link_token(request))
    return HTMLResponse(body, headers=_HEADERS)


routes = [
    Route("/admin/campaigns", campaigns_list, methods=["GET"]),
    Route("/admin/campaigns/{name}", campaign_preview, methods=["GET"]),
]
