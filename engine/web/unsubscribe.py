"""Unsubscribing: one click from the mail client (RFC 8058), or one button on a page.

A GET never changes anything (mail scanners follow links); it shows a page with a
button. A POST withdraws every marketing topic on the link's channel: when someone
says "unsubscribe", that is the safe reading. The preference centre is one link away
for anyone who wants to keep some topics. Repeating the POST is harmless.

The withdrawal covers every customer (not erased) who has the link's address on that
channel, not only the link's: a CRM holding one person twice mails one inbox under two
ids, and whoever unsubscribes from that inbox wants none of it. A complaint and an SMS
STOP act on the address the same way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from rapport.consent.links import links_for
from rapport.consent.privacy import hold_unerased
from rapport.consent.store import (
    UNSUBSCRIBE_LINK_WORDING,
    withdraw_channel,
)
from rapport.consent.tokens import Purpose, TokenClaims
from rapport.engine.core.config import Settings
from rapport.engine.core.models import CUSTOMER
from rapport.engine.customers.lookup import customers_by_email
from rapport.engine.web.context import client_agent, client_ip, not_found, resolve, web_context
from rapport.engine.web.sms_inbound import SMS_SOURCE

WORDING = UNSUBSCRIBE_LINK_WORDING


def _channel(claims: TokenClaims) -> str:
    return claims.channel or "email"


def _same_address(
    connection: Connection, settings: Settings, customer: Any, channel: str
) -> list[tuple[str, str]]:
    """(id, locale) of the other customers (not erased) holding the customer's address
    of the channel's kind: the e-mail address as compared everywhere (case of the part
    before @ ignored), the phone number exactly (stored E.164)."""
    config = settings.channels.get(channel)
    kind = (config.kind if config is not None else None) or channel
    if kind == "email" and customer.email:
        found = customers_by_email(connection, customer.email)
        return [(f.id, f.locale) for f in found if f.id != customer.id]
    if kind == "sms" and customer.phone:
        rows = connection.execute(
            select(CUSTOMER.c.id, CUSTOMER.c.locale)
            .where(CUSTOMER.c.phone == customer.phone, CUSTOMER.c.erased_at.is_(None))
            .where(CUSTOMER.c.id != customer.id)
            .order_by(CUSTOMER.c.id)
        )
        return [(row.id, row.locale) for row in rows]
    return []


async def unsubscribe_page(request: Request) -> Response:
    found = await resolve(request, Purpose.UNSUBSCRIBE)
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


def _withdraw(request: Request, claims: TokenClaims, customer: Any, one_click: bool) -> bool:
    """Withdraw the link's channel for the customer and the address's other holders, in
    one transaction (run in a worker thread: it may wait for row locks); False when the
    customer was erased since the link was read."""
    web = web_context(request)
    channel = _channel(claims)
    with web.engine.begin() as connection:
        holders = [(customer.id, customer.locale)]
        holders += _same_address(connection, web.settings, customer, channel)
        # Each holder's row locked (in id order, so two links to one address cannot
        # deadlock) before the withdrawal records the visitor's IP and browser: an
        # erasure that committed since the lookup has cleared those (consent/privacy).
        held = {i for i, _ in sorted(holders) if hold_unerased(connection, i)}
        if customer.id not in held:  # erased since the link was read
            return False
        for customer_id, locale in holders:
            if customer_id not in held:
                continue
            withdraw_channel(
                connection,
                customer_id,
                channel,
                source="one_click" if one_click else "unsubscribe_page",
                now=web.now(),
                locale=locale,
                ip=client_ip(request),
                user_agent=client_agent(request),
                # After a STOP, recorded all the same: START undoes a keyword's
                # withdrawal, never an unsubscribe (docs/webhooks.md).
                again=(SMS_SOURCE,),
            )
    return True


async def unsubscribe_post(request: Request) -> Response:
    found = await resolve(request, Purpose.UNSUBSCRIBE)
    if found is None:
        return not_found(request)
    claims, customer = found
    web = web_context(request)
    form = await request.form()
    one_click = form.get("List-Unsubscribe") == "One-Click"
    if not await run_in_threadpool(_withdraw, request, claims, customer, one_click):
        return not_found(request)
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
