"""The gate every provider webhook request passes before a handler acts on it.

Providers call webhooks, not people, so all of them share one authentication rule:
the ``X-Rapport-Webhook-Token`` header must equal ``web.webhook_token`` (from
RAPPORT_WEBHOOK_TOKEN). Twilio cannot add headers, so the token is also accepted as
the password of HTTP Basic authentication (put it in the webhook URL:
``https://twilio:TOKEN@host/webhooks/sms/inbound``; Twilio retries with credentials
after the ``401`` challenge). Wrong or missing token: ``401``. No token configured:
``503``, because an unauthenticated endpoint that withdraws consent or suppresses
addresses would let anyone silence any customer.

Past the token, the webhooks share how they refuse a request (:class:`WebhookError`,
answered as ``{"error": ...}`` with its status) and how they read a body: bounded
in size before it is all read, and parsed as JSON without trusting it.

Used by :mod:`~rapport.engine.web.sms_inbound` and
:mod:`~rapport.engine.web.email_events`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rapport.engine.core.config import Settings
from rapport.engine.core.text import escaped_surrogates, printable
from rapport.engine.web.jsonbody import BadBody, parse_body

TOKEN_HEADER = "X-Rapport-Webhook-Token"


# -- refusals ---------------------------------------------------------------------------


class WebhookError(Exception):
    """A request we refuse; ``status_code`` and the message become the JSON answer."""

    status_code = 400


class BadPayload(WebhookError):
    """The body cannot be read as the documented shape."""


class PayloadTooLarge(WebhookError):
    status_code = 413


class UnsupportedMediaType(WebhookError):
    status_code = 415


def error_response(exc: WebhookError) -> Response:
    """``{"error": ...}``; a key of the body the message quotes may be a lone surrogate,
    sent as its escape (the response could not be encoded: a 500, retried for days)."""
    return JSONResponse({"error": escaped_surrogates(str(exc))}, status_code=exc.status_code)


# -- authentication ---------------------------------------------------------------------


def _presented_tokens(request: Request) -> list[bytes]:
    """The header token and/or the Basic password, as the raw bytes that were sent."""
    tokens = []
    # Starlette decodes headers as latin-1, so encoding back gives the bytes sent.
    if (header := request.headers.get(TOKEN_HEADER)) is not None:
        tokens.append(header.encode("latin-1"))
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        _, colon, password = decoded.partition(b":")
        if colon:
            tokens.append(password)
    return tokens


def refuse_unauthenticated(request: Request, settings: Settings) -> Response | None:
    """None when the caller presented the configured token; else the answer to send."""
    expected = settings.web.webhook_token
    if not expected or not expected.strip():
        return JSONResponse(
            {"error": "webhooks are disabled until RAPPORT_WEBHOOK_TOKEN is set"},
            status_code=503,
        )
    wanted = expected.encode("utf-8")
    # Compare every candidate (no short-circuit) so timing says nothing about which.
    matches = [hmac.compare_digest(token, wanted) for token in _presented_tokens(request)]
    if any(matches):
        return None
    return JSONResponse(
        {"error": f"missing or wrong webhook token (send it in {TOKEN_HEADER})"},
        status_code=401,
        headers={"WWW-Authenticate": 'Basic realm="rapport-webhooks"'},
    )


# -- request bodies ---------------------------------------------------------------------


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing more than ``limit`` bytes before reading them all."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"body larger than {limit} bytes")
    return bytes(body)


def parse_json(body: bytes) -> Any:
    """The body read strictly (:func:`~rapport.engine.web.jsonbody.parse_body`): UTF-8,
    no key twice in one object, no ``NaN`` or ``Infinity``, nesting bounded; a body
    whose meaning would depend on the parser is a 400 saying why."""
    try:
        return parse_body(body, constants=False)
    except BadBody as bad:
        raise BadPayload(bad.message) from None


#: Fields a provider's form may have (Twilio sends a few dozen).
MAX_FORM_FIELDS = 200


def parse_form(body: bytes) -> dict[str, list[str]]:
    """A URL-encoded form (Twilio's), each field given once: a repeated field
    (``Body=HELLO&Body=STOP``) means nothing certain, as a repeated JSON key does, and
    is a 400 naming it. The values are lists, as :func:`urllib.parse.parse_qs` gives."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadPayload("form body is not UTF-8 URL-encoded fields") from None
    try:
        form = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:  # the one parse_qs raises unless strict: too many fields
        raise BadPayload(f"the form has more than {MAX_FORM_FIELDS} fields") from None
    for name, values in form.items():
        if len(values) > 1:
            raise BadPayload(f"{printable(name)[:64]}: given more than once in the form")
    return form
