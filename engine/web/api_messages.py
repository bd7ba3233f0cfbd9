"""Transactional messages over the HTTP API (issue 19, point 4; docs/api.md).

``POST /api/v1/messages`` (scope ``send``) asks for one message a customer needs
rather than opted in to, a receipt or a shipping notice: a template set, a topic
listed in ``transactional_topics``, a customer, an optional channel and ``data`` for
the template. It is rendered at once by the same sandboxed, budgeted renderer as
every campaign (a mistake in the template is a ``422`` naming its file and line, and
nothing is queued) and written to the outbox due now, marked ``transactional``: the
normal dispatcher sends it on its next pass, without marketing consent and without an
unsubscribe link, and still never to an address on the suppression list (the
message then ends ``suppressed``). Campaigns are marketing by construction (their
topics are consent topics) and are refused here: they go through consent and
planning.

Idempotency: the ``Idempotency-Key`` header is required. A message is kept once per
token, customer and key, and the database holds it to that: the row's unique
``idempotency_key`` is made of the customer and a digest of the token's name and the
key only, so of concurrent requests with one key one row is written. ``occasion``
holds the same digest, then one of the request (template, topic, channel, data): the
same request again answers ``200`` with the same message, the same key with another
template, topic, channel or data for that customer is ``409``. ``data`` is refused
(``422``, naming its JSON pointer) when it holds text no database can store (NUL, a
lone surrogate) or NaN or Infinity, and measured as compact UTF-8 JSON.

``GET /api/v1/messages/{id}`` (scope ``send`` or ``read``) says what became of it.
An id is the outbox row's number and a keyed digest of it (:func:`public_id`), so ids
cannot be guessed or walked; only messages made through the API are found.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, Row, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rapport.channels.redaction import mask_personal
from rapport.engine.core.config import Settings
from rapport.engine.core.keys import secret_key
from rapport.engine.core.models import CUSTOMER, OUTBOX, MessageStatus, idempotency_key
from rapport.engine.core.sender import sms_signature
from rapport.engine.core.text import find_unstorable, json_pointer, unstorable
from rapport.engine.core.timeutil import as_utc
from rapport.engine.customers.fields import FieldInvalid
from rapport.engine.customers.rows import NOT_A_WHOLE_NUMBER, cell
from rapport.engine.delivery import outbox
from rapport.engine.planning.erased import without_erased
from rapport.engine.rendering.errors import TemplateProblemError
from rapport.engine.rendering.locales import full_name, salutation
from rapport.engine.rendering.renderer import (
    RenderedMessage,
    Renderer,
    channel_kind,
    is_channel_kind,
)
from rapport.engine.rendering.sms_encoding import count_sms
from rapport.engine.runtime import services
from rapport.engine.web.api import PREFIX, api_error, authenticate
from rapport.engine.web.api_ingest import admit, limiter
from rapport.engine.web.api_messages_schema import MAX_DATA_BYTES, MAX_KEY_CHARS, TEMPLATE_PATTERN
from rapport.engine.web.context import WebContext, web_context

#: The outbox's ``campaign`` of an API message is this prefix and the template set.
CAMPAIGN_PREFIX = "api:"
TEMPLATE = re.compile(TEMPLATE_PATTERN)
#: The fields a request body may hold.
FIELDS = ("template", "campaign", "topic", "customer", "channel", "data")


class Refused(Exception):
    """A request the API answers with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class MessageRequest:
    """One checked request: everything but the customer's own row."""

    template: str
    topic: str
    customer: str
    channel: str
    kind: str
    data: dict[str, Any]

    def fingerprint(self) -> str:
        """The request as its idempotency key is bound to (the channel resolved)."""
        text = json.dumps(
            [self.template, self.topic, self.customer, self.channel, self.data],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Refused(422, f"/{name}: is required (a string)")
    return value.strip()


def _customer(body: dict[str, Any]) -> str:
    """The customer's id, a string or a whole number as the ingest endpoints take it
    (``rows.cell``): ``100`` is the customer ``"100"``, ``100.0`` or ``1E2`` is refused."""
    raw = body.get("customer")
    if raw is None:
        raise Refused(422, "/customer: is required (a string or a whole number)")
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise Refused(422, f"/customer: {NOT_A_WHOLE_NUMBER}")
    try:
        value = cell(raw, "customer", identifier=True)
    except FieldInvalid as exc:
        raise Refused(422, f"/customer: {exc.reason}") from None
    if not value:
        raise Refused(422, "/customer: is required (a string or a whole number)")
    return value


def _channel(body: dict[str, Any], settings: Settings) -> tuple[str, str]:
    """(channel, kind): the one asked for, else the first e-mail channel."""
    kinds = {name: config.kind or name for name, config in settings.channels.items()}
    name = body.get("channel")
    if name is None:
        name = next((channel for channel, kind in kinds.items() if kind == "email"), None)
        if name is None:
            raise Refused(422, "/channel: is required (no e-mail channel is configured)")
    if not isinstance(name, str) or name not in kinds or not is_channel_kind(kinds[name]):
        usable = ", ".join(c for c, kind in kinds.items() if is_channel_kind(kind))
        raise Refused(422, f"/channel: unknown channel {name!r}; configured: {usable}")
    return name, kinds[name]


def parse_request(body: Any, settings: Settings) -> MessageRequest:
    """Check a request body; :class:`Refused` names the first problem as a JSON pointer."""
    if not isinstance(body, dict):
        raise Refused(422, "the body must be a JSON object")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise Refused(422, f"/{unknown[0]}: unknown field; fields: {', '.join(FIELDS)}")
    if "campaign" in body:
        raise Refused(
            422,
            "/campaign: campaigns are marketing (their topics are consent topics) and go "
            "through consent and planning; send a template set with a transactional "
            "topic instead",
        )
    template = _field(body, "template")
    if not TEMPLATE.match(template):
        raise Refused(
            422, "/template: a template set is 1 to 64 lower-case letters, digits, '-' or '_'"
        )
    topic = _field(body, "topic")
    if topic not in settings.transactional_topics:
        known = ", ".join(settings.transactional_topics) or "none configured"
        why = (
            "a marketing topic: marketing goes through consent and planning"
            if topic in settings.topics
            else "not a configured topic"
        )
        raise Refused(422, f"/topic: {topic!r} is {why}; transactional topics: {known}")
    customer = _customer(body)
    if (reason := unstorable(customer)) is not None:
        raise Refused(422, f"/customer: {reason}")
    channel, kind = _channel(body, settings)
    return MessageRequest(template, topic, customer, channel, kind, _data(body))


def _data(body: dict[str, Any]) -> dict[str, Any]:
    """``data``: an object of JSON values a database can store, at most
    :data:`MAX_DATA_BYTES` as compact UTF-8 JSON (as an event's ``data`` is measured),
    so a note in Persian or Chinese weighs its characters, not their escapes."""
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise Refused(422, "/data: must be a JSON object")
    found = find_unstorable(data) or _non_finite(data)
    if found is not None:
        where, reason = found
        raise Refused(422, f"/data{json_pointer(where)}: {reason}")
    text = json.dumps(data, default=str, ensure_ascii=False, separators=(",", ":"))
    if len(text.encode("utf-8")) > MAX_DATA_BYTES:
        raise Refused(413, f"/data: more than {MAX_DATA_BYTES} bytes as compact UTF-8 JSON")
    return data


def _non_finite(value: Any, path: tuple[str, ...] = ()) -> tuple[tuple[str, ...], str] | None:
    """The first NaN or Infinity in a JSON value (Python's parser takes them; JSON has
    no such numbers) as (path, reason), or None. Depth is bounded by the body's parser."""
    if isinstance(value, float) and not math.isfinite(value):
        return path, f"{'NaN' if math.isnan(value) else 'Infinity'} is not a JSON number"
    if isinstance(value, dict):
        members = list(value.items())
    elif isinstance(value, list):
        members = list(enumerate(value))
    else:
        return None
    for key, item in members:
        found = _non_finite(item, (*path, str(key)))
        if found is not None:
            return found
    return None


def check_key(key: str | None) -> str:
    if key is None or not key.strip():
        raise Refused(400, "the Idempotency-Key header is required")
    if len(key) > MAX_KEY_CHARS or not key.isprintable() or not key.isascii():
        raise Refused(400, f"the Idempotency-Key header is 1 to {MAX_KEY_CHARS} ASCII characters")
    return key


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _tag(key: bytes, row_id: int) -> str:
    return hmac.new(key, f"api-message:{row_id}".encode(), hashlib.sha256).hexdigest()[:24]


def public_id(key: bytes, row_id: int) -> str:
    """The id the API shows for an outbox row: its number and a keyed digest of it."""
    return f"{row_id}-{_tag(key, row_id)}"


def row_id_of(key: bytes, message_id: str) -> int | None:
    """The outbox row an id names, or None for an id this server did not give."""
    number, _, tag = message_id.partition("-")
    if not (number.isascii() and number.isdigit()) or len(number) > 18:
        return None
    if not tag.isascii():  # hmac compares ASCII text only (TypeError otherwise)
        return None
    row_id = int(number)
    return row_id if hmac.compare_digest(tag, _tag(key, row_id)) else None


def _context(
    customer: Row[Any], request: MessageRequest, settings: Settings, reading_locale: str
) -> dict[str, Any]:
    """What a transactional template may use (docs/api.md): plain data only. The
    salutation is in ``reading_locale``, the language of the folder that renders it."""
    first, last, locale = customer.first_name, customer.last_name, customer.locale
    return {
        "customer": {
            "id": customer.id,
            "first_name": first,
            "last_name": last,
            "full_name": full_name(first, last, locale),
            "salutation": salutation(first, last, reading_locale),
            "locale": locale,
            "timezone": customer.timezone,
            "country": customer.country,
        },
        "message": {"template": request.template, "topic": request.topic},
        "data": request.data,
        "sender": {
            "postal_address": settings.sender.postal_address,
            "sms_signature": sms_signature(settings.sender, locale),
        },
    }


def _earlier(connection: Connection, customer: str, prefix: str) -> list[Row[Any]]:
    """The API messages this customer already has under one token and key."""
    return list(
        connection.execute(
            select(OUTBOX.c.id, OUTBOX.c.occasion, OUTBOX.c.status).where(
                OUTBOX.c.customer_id == customer,
                OUTBOX.c.campaign.startswith(CAMPAIGN_PREFIX, autoescape=True),
                OUTBOX.c.occasion.startswith(prefix, autoescape=True),
            )
        )
    )


def _same_request(earlier: list[Row[Any]], occasion: str) -> tuple[bool, int, str] | None:
    """(False, id, status) of the earlier message this request repeats, None if there
    is none yet; :class:`Refused` (409) if the key went to another request."""
    for row in earlier:
        if row.occasion == occasion:
            return False, row.id, row.status
    if earlier:
        raise Refused(409, "this Idempotency-Key was used for another request for this customer")
    return None


def _render(
    renderer: Renderer, customer: Row[Any], request: MessageRequest, settings: Settings
) -> RenderedMessage:
    address = customer.email if request.kind == "email" else customer.phone
    if not address:
        raise Refused(
            422, f"/customer: has no {request.kind} address for channel {request.channel!r}"
        )
    kind = channel_kind(request.kind)
    reading = renderer.reading_locale(request.template, kind, customer.locale)
    try:
        return renderer.render(
            request.template, kind, customer.locale, _context(customer, request, settings, reading)
        )
    except TemplateProblemError as exc:
        raise Refused(422, f"/template: {exc.problem}") from None


def send(
    web: WebContext, renderer: Renderer, token: str, key: str, request: MessageRequest
) -> tuple[bool, int, str]:
    """Queue the message ``request`` asks for, once: (new, outbox row id, status).

    :class:`Refused` for an unknown or erased customer, one without an address on the
    channel, a template that cannot render, or a key already used for another request.
    An earlier message under the key is looked for first (a retry costs no rendering),
    but what makes it once is the database: the row's ``idempotency_key`` is the
    customer, the token and the key alone, and it is unique, so of two requests racing
    with one key exactly one row is written; the other reads the winner and is the
    same message (``200``) if it asked the same, else ``409``.
    """
    prefix = "api:" + _digest(token + "\0" + key) + ":"
    occasion = prefix + request.fingerprint()[:32]
    with web.engine.connect() as connection:
        found = _same_request(_earlier(connection, request.customer, prefix), occasion)
        customer = connection.execute(
            select(CUSTOMER).where(CUSTOMER.c.id == request.customer)
        ).first()
    if found is not None:
        return found
    if customer is None:
        raise Refused(422, f"/customer: unknown customer {request.customer!r}")
    if customer.erased_at is not None:
        raise Refused(422, f"/customer: {request.customer!r} was erased on request")
    rendered = _render(renderer, customer, request, web.settings)
    now = web.now()
    row = outbox.outbox_row(
        customer_id=customer.id,
        campaign=CAMPAIGN_PREFIX + request.template,
        occasion=occasion,
        channel=request.channel,
        topic=request.topic,
        locale=rendered.locale,
        transactional=True,
        status=MessageStatus.QUEUED,
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        segments=count_sms(rendered.text).segments if request.kind == "sms" else None,
        send_at=now,
        created_at=now,
    )
    # Whatever the template, channel or data: one row per customer, token and key
    # (the "*" channel is no channel's name, so no planned message has this key).
    row["idempotency_key"] = idempotency_key(customer.id, CAMPAIGN_PREFIX, prefix, "*")
    with web.engine.begin() as connection:
        if not without_erased(connection, [row]):  # erased since it was read above
            raise Refused(422, f"/customer: {request.customer!r} was erased on request")
        if outbox.enqueue(connection, [row]) == 1:
            stored = connection.execute(
                select(OUTBOX.c.id, OUTBOX.c.status).where(
                    OUTBOX.c.idempotency_key == row["idempotency_key"]
                )
            ).one()
            return True, stored.id, stored.status
        found = _same_request(_earlier(connection, customer.id, prefix), occasion)
    if found is None:  # the row that stopped this one is gone again: ask to retry
        raise Refused(409, "another request with this Idempotency-Key is in progress; retry")
    return found


def _time(value: datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat().replace("+00:00", "Z")


def status_of(engine: Engine, key: bytes, message_id: str) -> dict[str, Any] | None:
    """What became of an API message, or None for an id no API message has."""
    row_id = row_id_of(key, message_id)
    if row_id is None:
        return None
    with engine.connect() as connection:
        row = connection.execute(select(OUTBOX).where(OUTBOX.c.id == row_id)).first()
    if row is None or not row.transactional or not row.campaign.startswith(CAMPAIGN_PREFIX):
        return None
    return {
        "id": message_id,
        "status": row.status,
        "template": row.campaign.removeprefix(CAMPAIGN_PREFIX),
        "topic": row.topic,
        "channel": row.channel,
        "locale": row.locale,
        "created_at": _time(row.created_at),
        "send_at": _time(row.send_at),
        "sent_at": _time(row.sent_at),
        "delivered_at": _time(row.delivered_at),
        "delivery_status": row.delivery_status,
        "attempts": row.attempts,
        "error": mask_personal(row.last_error) if row.last_error else None,
    }


def _id_key(request: Request, web: WebContext) -> bytes:
    """The key message ids are made with, derived from the link-signing key."""
    state = request.app.state
    key: bytes | None = getattr(state, "api_message_key", None)
    if key is None:
        secret = secret_key(web.settings, web.engine)
        key = hmac.new(secret.encode("utf-8"), b"rapport.api-message-id", "sha256").digest()
        state.api_message_key = key
    return key


def _renderer(request: Request, web: WebContext) -> Renderer:
    state = request.app.state
    renderer: Renderer | None = getattr(state, "api_renderer", None)
    if renderer is None:
        renderer = services.renderer(web.settings)
        state.api_renderer = renderer
    return renderer


def _answer(key: bytes, row_id: int, status: str, code: int) -> Response:
    message_id = public_id(key, row_id)
    return JSONResponse(
        {"id": message_id, "status": status, "url": f"{PREFIX}/messages/{message_id}"},
        status_code=code,
        headers={"Location": f"{PREFIX}/messages/{message_id}"},
    )


async def create_message(request: Request) -> Response:
    admitted = await admit(request, "send", "api-send")
    if isinstance(admitted, Response):
        return admitted
    token, web, body = admitted
    try:
        key = check_key(request.headers.get("idempotency-key"))
        asked = parse_request(body, web.settings)
        renderer = await run_in_threadpool(_renderer, request, web)
        new, row_id, status = await run_in_threadpool(send, web, renderer, token, key, asked)
        id_key = await run_in_threadpool(_id_key, request, web)
    except Refused as refused:
        return api_error(refused.status, refused.message)
    return _answer(id_key, row_id, status, 202 if new else 200)


async def message_status(request: Request) -> Response:
    found = await authenticate(request, None)
    if isinstance(found, Response):
        return found
    if found[1] not in ("send", "read"):
        return api_error(403, "this endpoint needs a token with scope 'send' or 'read'")
    web = web_context(request)
    if not limiter(request, web).allow(f"api-status:{found[0]}"):
        return api_error(429, "too many requests for this token", {"Retry-After": "60"})
    id_key = await run_in_threadpool(_id_key, request, web)
    message_id = request.path_params["message_id"]
    answer = await run_in_threadpool(status_of, web.engine, id_key, message_id)
    if answer is None:
        return api_error(404, "no such message")
    return JSONResponse(answer)


routes = [
    Route(f"{PREFIX}/messages", create_message, methods=["POST"]),
    Route(f"{PREFIX}/messages/{{message_id}}", message_status, methods=["GET"]),
]
