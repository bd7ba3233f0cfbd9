"""Security headers on every answer the web app gives (issue 15, point 4).

:class:`SecurityHeaders` is a pure ASGI middleware; it adds, to every response that
does not set them itself:

- ``Content-Security-Policy``: the product's pages (HTML) get
  ``default-src 'none'`` plus exactly what they use: the one ``<style>`` element of
  ``pages/base.html``, allowed by its SHA-256 hash (so no other inline style or
  script runs, even if markup were ever injected), forms posting to the same
  origin (``form-action 'self'``), no framing (``frame-ancestors 'none'``) and no
  ``<base>`` (``base-uri 'none'``). Every other answer (JSON, text, metrics) gets
  ``default-src 'none'`` and no framing. A handler that sets its own policy keeps it
  (the operators' report, whose charts use inline styles: :data:`REPORT_POLICY`).
- ``X-Frame-Options: DENY``, for browsers that predate ``frame-ancestors``.
- ``Referrer-Policy: no-referrer``: a page's URL carries its signed token, so no
  link or form on it may send that URL elsewhere.
- ``X-Content-Type-Options: nosniff``.
- ``Cache-Control: no-store``: every answer is personal (a token page), the answer
  to a form, or live state, so nothing is kept by a browser or a shared cache.

Page templates must keep their CSS in ``base.html``'s ``<style>`` element: a
``style="..."`` attribute or a second ``<style>`` in another template is blocked by
the policy (tests/engine/web/test_headers.py renders every page and checks this).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapport.engine.web.pages import HERE

_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)

#: Anything that is not one of the product's pages: nothing may load or frame it.
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
#: The operators' HTML report (engine/reports/html.py): inline styles, no script.
REPORT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)


def style_hashes(folder: Path = HERE / "pages") -> tuple[str, ...]:
    """CSP sources for every ``<style>`` element in the page templates, in file order.

    The style elements hold no template syntax, so the text in the file is the text
    the browser hashes.
    """
    found: list[str] = []
    for path in sorted(folder.glob("*.html")):
        for css in _STYLE.findall(path.read_text(encoding="utf-8")):
            digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
            found.append(f"'sha256-{digest}'")
    return tuple(dict.fromkeys(found))


def page_policy(hashes: tuple[str, ...]) -> str:
    """The policy of the product's pages: nothing but their stylesheet and own forms."""
    styles = " ".join(hashes) or "'none'"
    return (
        f"default-src 'none'; style-src {styles}; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


class SecurityHeaders:
    """Adds the headers above to every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.page_policy = page_policy(style_hashes())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                html = headers.get("content-type", "").startswith("text/html")
                headers.setdefault(
                    "Content-Security-Policy", self.page_policy if html else OTHER_POLICY
                )
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
