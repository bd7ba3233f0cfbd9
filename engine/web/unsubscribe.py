"""Unsubscribing: one click from the mail client (RFC 8058), or one button on a page.

A GET never changes anything (mail scanners follow links); it shows a page with a
button. A POST withdraws every marketing topic on the link's channel: when someone
says "unsubscribe", that is the safe reading. The preference centre is one link away
for anyone who wants to keep some topics. Repeating the POST is harmless.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from rapport.consent.links import links_for
from rapport.consent.store import (
    UNSUBSCRIBE_LINK_WORDING,
    withdraw_channel,
)
from rapport.consent.tokens import Purpose, TokenClaims
from rapport.engine.web.context import client_ip, not_found, resolve, web_context

WORDING = UNSUBSCRIBE_LINK_WORDING


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
