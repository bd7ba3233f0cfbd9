"""Form POSTs sent from another website are refused (issue 15, point 4).

A page elsewhere must not be able to make a visitor's browser submit one of our
forms. Rapport sets no cookie and keeps no session: a token page's only credential
is the signed token in its path, which another site cannot know, so the classic
forgery (riding on a cookie) has nothing to ride on. The check below is defence in
depth for the token forms and the real defence for the one form without a token
(``POST /preferences``, "send me my link"), which a page could otherwise have every
visitor's browser send for an address of its choosing.

The rule, for every request whose method is not GET, HEAD or OPTIONS:

1. ``Sec-Fetch-Site``, when present, decides: ``same-origin`` passes, and so does
   ``none`` (a request the person started themselves, not a page); ``same-site``
   (a sibling subdomain) and ``cross-site`` are refused.
2. Otherwise ``Origin``, when present, decides: it passes when it is the origin of
   ``web.base_url`` or the origin the request was addressed to (its scheme and
   ``Host``); anything else is refused, ``Origin: null`` included.
3. Otherwise ``Referer``, when present, decides the same way by its origin: browsers
   from before ``Origin`` was sent with every form POST (Firefox before 70) still
   name the page the form was on. One that does not parse says nothing.
4. A request with none of them passes. Browsers send one of them with every form
   POST (Chrome, Edge and Safari have sent ``Origin`` for years, Firefox since
   version 70 in 2019; all four send ``Sec-Fetch-Site`` since 2023), so such a
   request comes from a program its owner runs: a mail provider's one-click
   unsubscribe, a provider's webhook, curl. No page tricked it into anything. A
   per-form secret was considered and left out: a token page's form would carry a
   secret derived from the token already in its URL (whoever has the link can read
   the form), and the link-request form has no secret to bind one to.

One exception: the RFC 8058 one-click unsubscribe (``POST /unsubscribe/<token>``
whose form holds ``List-Unsubscribe=One-Click``) passes whatever the headers say.
Mail providers send it from their servers, usually with neither header, but a
webmail client may send it from the reader's browser with its own origin; it can
only ever withdraw consent, for the holder of the link.

A refusal is ``403`` with a page in the client's language (Accept-Language), or the
webhooks' JSON shape under ``/webhooks/``; nothing reaches a handler, so nothing is
written.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapport.engine.web.context import error_page

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Sec-Fetch-Site values of a request a page on another site did not start.
TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})
#: The path of the one-click unsubscribe, and the most body we read to find its field
#: (the urlencoded form is 26 bytes; a multipart one a few hundred).
ONE_CLICK_PATH = re.compile(r"/unsubscribe/[^/]+")
ONE_CLICK_MAX_BYTES = 4096

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower-cased, the default port left out."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    shown_port = "" if port in (None, _DEFAULT_PORTS[scheme]) else f":{port}"
    return f"{scheme}://{host}{shown_port}"


def same_site_request(headers: Headers, scheme: str, own_origins: set[str]) -> bool | None:
    """True to pass, False to refuse, None when no header says (rule 4)."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site.strip().lower() in TRUSTED_FETCH_SITES
    host = headers.get("host")
    ours = own_origins | {origin_of(f"{scheme}://{host}") if host else None}
    origin = headers.get("origin")
    if origin is not None:
        given = origin_of(origin)
        return given is not None and given in ours
    referer = headers.get("referer")
    given = origin_of(referer) if referer is not None else None
    return None if given is None else given in ours


async def _read_small_body(receive: Receive) -> tuple[list[Message], bool]:
    """The request's messages up to :data:`ONE_CLICK_MAX_BYTES`; False if it is longer."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, False
        size += len(message.get("body", b""))
        if size > ONE_CLICK_MAX_BYTES:
            return messages, False
        if not message.get("more_body", False):
            return messages, True


def _replay(messages: list[Message], receive: Receive) -> Callable[[], Awaitable[Message]]:
    queue = list(messages)

    async def replayed() -> Message:
        return queue.pop(0) if queue else await receive()

    return replayed


async def _is_one_click(scope: Scope, messages: list[Message]) -> bool:
    """Whether the buffered body is a form holding ``List-Unsubscribe=One-Click``."""
    # A copy of the scope without "app", so a malformed form is a MultiPartException
    # here, not an HTTPException meant for the app's handlers.
    probe = Request({k: v for k, v in scope.items() if k != "app"}, _replay(messages, _empty))
    try:
        form = await probe.form()
    except MultiPartException:
        return False
    return form.get("List-Unsubscribe") == "One-Click"


async def _empty() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


class CrossSiteRefusal:
    """Refuses state-changing requests that another website started (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        web = request.app.state.web
        own = {o for o in [origin_of(web.settings.web.base_url)] if o}
        verdict = same_site_request(request.headers, scope.get("scheme", "http"), own)
        if verdict is not False:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST" and ONE_CLICK_PATH.fullmatch(scope["path"]):
            messages, complete = await _read_small_body(receive)
            if complete and await _is_one_click(scope, messages):
                await self.app(scope, _replay(messages, receive), send)
                return
        await error_page(request, 403)(scope, receive, send)
