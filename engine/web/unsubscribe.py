"""Unsubscribing: one click from the mail client (RFC 8058), or one button on a page.

A GET never changes anything (mail scanners follow links); it shows a page with a
button. A POST withdraws every marketing topic on the link's channel: when someone
says "unsubscribe", that is the safe reading. The preference centre is one link away
for anyone who wants to keep some topics. Repeating the POST is harmless.
"""

from __future__ import annotations

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from rapport.consent.state import current_states
from rapport.consent.store import ConsentChange, record_consent
from rapport.consent.tokens import Purpose, TokenClaims
from rapport.engine.planning.context import links_for
from rapport.engine.web.app import client_ip, not_found, resolve, web_context

WORDING = "unsubscribe-link-v1"


def withdraw_channel(
    connection: Connection,
    customer_id: str,
    channel: str,
    *,
    source: str,
    now,  # type: ignore[no-untyped-def]
    locale: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    wording: str | None = WORDING,
) -> int:
    """Withdraw every granted or pending topic on ``channel``; returns how many."""
    active = [
        state
        for state in current_states(connection, customer_id)
        if state.channel == channel and state.status in ("granted", "pending")
    ]
    if not active:
        return 0
    record_consent(
        connection,
        [
            ConsentChange(
                customer_id,
                channel,
                state.topic,
                "withdrawn",
                source,
                now,
                wording=wording,
                ip=ip,
                user_agent=user_agent,
                locale=locale,
            )
            for state in active
        ],
        recorded_at=now,
    )
    return len(active)


def _channel(claims: TokenClaims) -> str:
    return claims.channel or "email"


async def unsubscribe_page(request: Request) -> Response:
    found = resolve(request, Purpose.UNSUBSCRIBE)
    if found is None:
        return not_found(request)
    claims, customer = found
    web = web_context(request)
    return HTMLResponse(
        web.pages.render(
            "unsubscribe.html",
            customer.locale,
            done=False,
            channel=_channel(claims),
            preferences=links_for(customer.id, claims.channel, web.settings, web.signer)[
                "preferences"
            ],
        )
    )


async def unsubscribe_post(request: Request) -> Response:
    found = resolve(request, Purpose.UNSUBSCRIBE)
    if found is None:
        return not_found(request)
    claims, customer = found
    web = web_context(request)
    form = await request.form()
    one_click = form.get("List-Unsubscribe") == "One-Click"
    with web.engine.begin() as connection:
        withdraw_channel(
            connection,
            customer.id,
            _channel(claims),
            source="one_click" if one_click else "unsubscribe_page",
            now=web.now(),
            locale=customer.locale,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    if one_click:
        # RFC 8058: the mail client shows nothing; a plain 200 with no redirect.
        return PlainTextResponse("unsubscribed\n")
    return HTMLResponse(
        web.pages.render(
            "unsubscribe.html",
            customer.locale,
            done=True,
            channel=_channel(claims),
            preferences=links_for(customer.id, claims.channel, web.settings, web.signer)[
                "preferences"
            ],
        )
    )


routes = [
    Route("/unsubscribe/{token}", unsubscribe_page, methods=["GET"]),
    Route("/unsubscribe/{token}", unsubscribe_post, methods=["POST"]),
]
