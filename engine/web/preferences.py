"""The preference centre, double opt-in confirmation and "send me my link".

Reached from the signed link in every message. Saving records evidence with source
``preference_center`` and the page's wording version (:data:`WORDING`). A topic
switched on is ``pending`` until the customer confirms it from the address itself:
e-mail by the link in the one e-mail it triggers, SMS by replying YES to the one
text it triggers (at most one such e-mail and one such text per customer per day,
whatever is switched off and on; the YES is handled
by :mod:`~rapport.engine.web.sms_inbound`, see :mod:`rapport.consent.confirmation`).
A save whose body is not a form (JSON, plain text) is refused with 415: read as a
form it has no field, and would switch every topic off. A save that would record more
than :data:`MAX_PAGE_CHANGES_A_DAY` changes in 24 hours is refused with 429, but for
the switches it turns off, which are recorded: withdrawing always works.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, func, select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from rapport.consent.links import address_digest, confirm_link, links_for, mailed_to
from rapport.consent.preferences import Switch, changes, switches
from rapport.consent.privacy import hold_unerased
from rapport.consent.state import CurrentConsent, current_states
from rapport.consent.store import ConsentChange, record_consent
from rapport.consent.tokens import Purpose, TokenClaims
from rapport.engine.core.i18n import from_accept_language, ui_language
from rapport.engine.core.keywords import KeywordAction, SMSKeywords, reply_word
from rapport.engine.core.models import CONSENT_EVENT, CUSTOMER
from rapport.engine.core.sender import sms_signature
from rapport.engine.customers.lookup import address_key, customers_by_email
from rapport.engine.rendering.locales import salutation
from rapport.engine.web.context import (
    WebContext,
    client_agent,
    client_ip,
    error_page,
    not_found,
    resolve,
    web_context,
)
from rapport.engine.web.transactional import enqueue_email, enqueue_sms

#: The version of what the page says a customer agrees to (topic names, the SMS
#: terms). v2 added the SMS terms: texts start only after a reply YES.
WORDING = "preference-center-v2"
CONFIRM_WORDING = "double-opt-in-v1"
#: The page's hidden fields naming the switches it showed on.
SHOWN = "shown"
#: The bodies an HTML form sends. Any other (JSON, plain text) reads as a form with no
#: field, every switch off: saving it would withdraw every topic the customer has.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
#: Consent changes the page records for one customer in 24 hours; a save that would go
#: past it turns nothing on (what it turns off is recorded) and is answered 429.
#: Evidence is never deleted, so without it whoever holds a (forwarded) link could grow
#: the trail without end by switching a topic off and on; a person changing their mind
#: does not come near it.
MAX_PAGE_CHANGES_A_DAY = 100


class TooManyChanges(Exception):
    """The save would record more than :data:`MAX_PAGE_CHANGES_A_DAY` changes: what it
    turned on was not recorded."""


async def _is_form(request: Request) -> bool:
    """Whether the body is a form: a form type, or nothing at all (no type, no body,
    as ``curl -X POST`` sends: every switch off, as an empty form says)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media in FORM_TYPES:
        return True
    return not media and not await request.body()


def _keyword_words(keywords: SMSKeywords, locale: str | None) -> dict[str, str]:
    """The YES, HELP and STOP words a page or text in the customer's language names."""
    language = ui_language(locale)
    return {
        "confirm_word": reply_word(KeywordAction.CONFIRM, language, keywords),
        "help_word": reply_word(KeywordAction.HELP, language, keywords),
        "stop_word": reply_word(KeywordAction.STOP, language, keywords),
    }


def _grid(web: WebContext, connection: Any, customer: Any) -> list[Switch]:
    current = {(s.channel, s.topic): s.status for s in current_states(connection, customer.id)}
    addresses = {"email": customer.email, "sms": customer.phone}
    channels = [name for name in web.settings.channels if name in addresses]
    return switches(channels, web.settings.topics, current, addresses)


def _page(web: WebContext, customer: Any, grid: list[Switch], token: str, **extra: Any) -> str:
    return web.pages.render(
        "preferences.html",
        customer.locale,
        salutation=salutation(customer.first_name, customer.last_name, customer.locale),
        token=token,
        switches=grid,
        channels=sorted({s.channel for s in grid}, key=[s.channel for s in grid].index),
        topics=list(web.settings.topics),
        postal_address=web.settings.sender.postal_address,
        **_keyword_words(web.settings.sms_keywords, customer.locale),
        **extra,
    )


def _current_grid(web: WebContext, customer: Any) -> list[Switch]:
    with web.engine.connect() as connection:
        return _grid(web, connection, customer)


async def preferences_page(request: Request) -> Response:
    found = await resolve(request, Purpose.PREFERENCES)
    if found is None:
        return not_found(request)
    _, customer = found
    web = web_context(request)
    grid = await run_in_threadpool(_current_grid, web, customer)
    return HTMLResponse(_page(web, customer, grid, request.path_params["token"], saved=False))


async def preferences_save(request: Request) -> Response:
    found = await resolve(request, Purpose.PREFERENCES)
    if found is None:
        return not_found(request)
    _, customer = found
    if not await _is_form(request):  # 415, nothing recorded
        return error_page(request, 415)
    form = await request.form()
    wanted = {key for key in form if form.get(key) == "on"}
    # The switches the page showed on (hidden fields, a first empty one marking a form
    # from the page): only what the customer moved there counts (consent/preferences).
    marked = [str(value) for value in form.getlist(SHOWN)]
    shown = {field for field in marked if field} if marked else None
    try:
        saved = await run_in_threadpool(_save, request, customer, wanted, shown)
    except TooManyChanges:
        return error_page(request, 429, {"Retry-After": "3600"})
    if saved is None:  # erased since the link was read
        return not_found(request)
    grid, by_email, by_sms = saved
    return HTMLResponse(
        _page(
            web_context(request),
            customer,
            grid,
            request.path_params["token"],
            saved=True,
            confirmation_sent=bool(by_email),
            sms_confirmation_sent=bool(by_sms),
        )
    )


def _save(
    request: Request, customer: Any, wanted: set[str], shown: set[str] | None
) -> tuple[list[Switch], list[str], list[str]] | None:
    """Record what the switches changed and queue the confirmations, in one transaction
    (run in a worker thread: it may wait for the customer's row); the grid after it
    and the e-mail and SMS topics switched on, or None if the customer was erased."""
    web = web_context(request)
    now = web.now()
    with web.engine.begin() as connection:
        if not hold_unerased(connection, customer.id):
            return None
        grid = _grid(web, connection, customer)
        moves = changes(grid, wanted, shown)
        # Past the day's changes a switch is no longer turned on; one turned off still
        # is (leaving always works, and cannot repeat without a grant between).
        refused = any(status != "withdrawn" for _, _, status in moves) and (
            _changes_today(connection, customer.id, now) + len(moves) > MAX_PAGE_CHANGES_A_DAY
        )
        if refused:
            moves = [move for move in moves if move[2] == "withdrawn"]
        if moves:
            record_consent(
                connection,
                [
                    ConsentChange(
                        customer.id,
                        channel,
                        topic,
                        status,
                        "preference_center",
                        now,
                        wording=WORDING,
                        locale=customer.locale,
                        ip=client_ip(request),
                        user_agent=client_agent(request),
                    )
                    for channel, topic, status in moves
                ],
                recorded_at=now,
            )
        by_email = [t for c, t, status in moves if status == "pending" and c == "email"]
        by_sms = [t for c, t, status in moves if status == "pending" and c == "sms"]
        if by_email:
            _send_confirmation(web, connection, customer, by_email, now)
        if by_sms:
            _send_sms_confirmation(web, connection, customer, now)
        saved = _grid(web, connection, customer), by_email, by_sms
    if refused:  # after the withdrawals' commit
        raise TooManyChanges(customer.id)
    return saved


def _changes_today(connection: Connection, customer_id: str, now: Any) -> int:
    """Consent changes the page recorded for the customer in the 24 hours to ``now``."""
    return connection.execute(
        select(func.count())
        .select_from(CONSENT_EVENT)
        .where(
            CONSENT_EVENT.c.customer_id == customer_id,
            CONSENT_EVENT.c.source == "preference_center",
            CONSENT_EVENT.c.recorded_at > now - timedelta(days=1),
        )
    ).scalar_one()


def _send_confirmation(
    web: WebContext, connection: Any, customer: Any, topics: list[str], now: Any
) -> None:
    """Queue the confirmation e-mail: at most one a customer and address a day (the
    occasion is the day and the address's digest), as for the "reply YES" text, so
    whoever holds a preference link cannot mail the inbox over and over by switching a
    topic off and on. Its link confirms every e-mail topic pending when it is used,
    those switched on after it was sent too, while the address is the one it went to
    (a new address gets its own the same day)."""
    enqueue_email(
        connection,
        web.pages,
        customer_id=customer.id,
        template="confirm",
        occasion=f"{now:%Y-%m-%d}:{address_digest(customer.email or '')}",
        locale=customer.locale,
        now=now,
        salutation=salutation(customer.first_name, customer.last_name, customer.locale),
        topics=sorted(topics),
        confirm_url=confirm_link(customer.id, web.settings, web.signer, customer.email),
        postal_address=web.settings.sender.postal_address,
    )


def _send_sms_confirmation(web: WebContext, connection: Any, customer: Any, now: Any) -> None:
    """Queue the "reply YES" text: at most one a customer a day (the occasion is the
    day), so switching a topic off and on cannot text someone over and over. A YES
    confirms every SMS topic pending within the window, so one text covers them."""
    words = _keyword_words(web.settings.sms_keywords, customer.locale)
    enqueue_sms(
        connection,
        web.pages,
        customer_id=customer.id,
        template="sms_confirm",
        occasion=now.strftime("%Y-%m-%d"),
        locale=customer.locale,
        now=now,
        expires_at=now + timedelta(days=web.settings.web.confirm_link_days),
        word=words["confirm_word"],
        help_word=words["help_word"],
        stop_word=words["stop_word"],
        signature=sms_signature(web.settings.sender, customer.locale),
    )


def _pending_email(connection: Connection, customer_id: str) -> list[CurrentConsent]:
    return [
        s
        for s in current_states(connection, customer_id)
        if s.channel == "email" and s.status == "pending"
    ]


def _confirm_answer(request: Request, customer: Any, *, done: bool, nothing: bool) -> Response:
    """The confirmation page: asking (neither), confirmed now (``done``), or nothing
    pending (``nothing``: confirmed before, or switched off since, which a later
    withdrawal does; the page must not say "confirmed" then)."""
    web = web_context(request)
    links = links_for(customer.id, "email", web.settings, web.signer)
    return HTMLResponse(
        web.pages.render(
            "confirm.html",
            customer.locale,
            done=done,
            nothing=nothing,
            token=request.path_params["token"],
            preferences=links["preferences"],
        )
    )


def _nothing_pending(web: WebContext, claims: TokenClaims, customer: Any) -> bool:
    """Nothing this link may confirm: no e-mail topic pending, or the customer's
    address is no longer the one the link was mailed to."""
    if not mailed_to(claims, customer.email):
        return True
    with web.engine.connect() as connection:
        return not _pending_email(connection, customer.id)


async def confirm_page(request: Request) -> Response:
    found = await resolve(request, Purpose.CONFIRM)
    if found is None:
        return not_found(request)
    claims, customer = found
    nothing = await run_in_threadpool(_nothing_pending, web_context(request), claims, customer)
    return _confirm_answer(request, customer, done=False, nothing=nothing)


async def confirm_post(request: Request) -> Response:
    """Grant every e-mail topic still pending; a second use finds nothing pending."""
    found = await resolve(request, Purpose.CONFIRM)
    if found is None:
        return not_found(request)
    claims, customer = found
    pending = await run_in_threadpool(_confirm, request, claims, customer)
    if pending is None:  # erased since the link was read
        return not_found(request)
    return _confirm_answer(request, customer, done=bool(pending), nothing=not pending)


def _confirm(request: Request, claims: TokenClaims, customer: Any) -> list[CurrentConsent] | None:
    """Grant what is pending, in one transaction (run in a worker thread: it may wait
    for the customer's row); what it granted, or None if the customer was erased.
    Nothing is granted once the customer's address is not the one the link was
    mailed to (read under the row's lock, so an import changing it waits or is seen)."""
    web = web_context(request)
    now = web.now()
    with web.engine.begin() as connection:
        if not hold_unerased(connection, customer.id):
            return None
        address = connection.execute(
            select(CUSTOMER.c.email).where(CUSTOMER.c.id == customer.id)
        ).scalar()
        if not mailed_to(claims, address):
            return []
        pending = _pending_email(connection, customer.id)
        if pending:
            record_consent(
                connection,
                [
                    ConsentChange(
                        customer.id,
                        "email",
                        s.topic,
                        "granted",
                        "double_opt_in",
                        now,
                        wording=CONFIRM_WORDING,
                        locale=customer.locale,
                        ip=client_ip(request),
                        user_agent=client_agent(request),
                    )
                    for s in pending
                ],
                recorded_at=now,
            )
    return pending


async def link_request_page(request: Request) -> Response:
    web = web_context(request)
    language = request.query_params.get("lang") or from_accept_language(
        request.headers.get("accept-language")
    )
    return HTMLResponse(web.pages.render("link_request.html", language, sent=False, limited=False))


async def link_request_post(request: Request) -> Response:
    """Answer the same whether or not the address is known; do the work after answering.

    The response (status, body, and roughly its timing) must not tell a stranger
    whether an address belongs to a customer, so the lookup and the e-mail happen in
    a background task after the response is sent. The typed address is normalised as
    import normalises addresses (:mod:`rapport.engine.customers.lookup`), so every
    spelling of one address also shares one rate-limit bucket.
    """
    web = web_context(request)
    form = await request.form()
    address = str(form.get("email") or "").strip()
    language = str(form.get("lang") or "") or from_accept_language(
        request.headers.get("accept-language")
    )
    ip = client_ip(request) or "unknown"
    typed = address_key(address) if _could_be_address(address) else None
    bucket = typed.key if typed is not None else address.lower()
    if not web.link_limiter.allow(f"ip:{ip}", f"email:{bucket}"):
        body = web.pages.render("link_request.html", language, sent=False, limited=True)
        return HTMLResponse(body, status_code=429, headers={"Retry-After": "3600"})
    body = web.pages.render("link_request.html", language, sent=True, limited=False)
    task = BackgroundTask(_send_link, web, address) if typed is not None else None
    return HTMLResponse(body, background=task)


#: The longest address import accepts (a decomposed address is longer than it reads).
MAX_ADDRESS_LENGTH = 320


def _could_be_address(address: str) -> bool:
    """Worth normalising: anything else (empty, a NUL, which PostgreSQL text cannot
    hold, kilobytes of text) matches no customer, and gets the same answer."""
    return 0 < len(address) <= MAX_ADDRESS_LENGTH and "@" in address and address.isprintable()


def _send_link(web: WebContext, address: str) -> None:
    now = web.now()
    with web.engine.begin() as connection:
        # Locked in Python's order of ids, as an unsubscribe locks an address's holders.
        for customer in sorted(customers_by_email(connection, address), key=lambda c: c.id):
            if not hold_unerased(connection, customer.id):  # erased since it was found
                continue
            links = links_for(customer.id, "email", web.settings, web.signer)
            enqueue_email(
                connection,
                web.pages,
                customer_id=customer.id,
                template="link",
                occasion=now.strftime("%Y%m%d%H%M%S%f"),
                locale=customer.locale,
                now=now,
                salutation=salutation(customer.first_name, customer.last_name, customer.locale),
                preferences_url=links["preferences"],
                postal_address=web.settings.sender.postal_address,
            )


routes = [
    Route("/preferences", link_request_page, methods=["GET"]),
    Route("/preferences", link_request_post, methods=["POST"]),
    Route("/preferences/{token}", preferences_page, methods=["GET"]),
    Route("/preferences/{token}", preferences_save, methods=["POST"]),
    Route("/confirm/{token}", confirm_page, methods=["GET"]),
    Route("/confirm/{token}", confirm_post, methods=["POST"]),
]
