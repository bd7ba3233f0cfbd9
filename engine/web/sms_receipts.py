"""``POST /webhooks/sms/status``: SMS delivery receipts from providers.

Authenticated like every webhook, by the shared token
(:mod:`~rapport.engine.web.webhook_auth`: the ``X-Rapport-Webhook-Token`` header, or
the password of HTTP Basic authentication in the callback URL Twilio is given).
Twilio's ``X-Twilio-Signature`` is not checked: the token is the one rule.

Two shapes, told apart by ``Content-Type``:

* ``application/json``: one object or an array of up to 1000 (body up to 1 MiB)::

      {"message_id": "<the provider's id>",
       "status": "delivered" | "undelivered" | "failed",   # also "queued", "sent"
       "error_code": "30005",                               # optional, string or number
       "occurred_at": "2025-06-01T09:30:00Z"}               # optional ISO 8601

* ``application/x-www-form-urlencoded``: Twilio's status callback (body up to
  16 KiB): ``MessageSid`` (or ``SmsSid``), ``MessageStatus`` (or ``SmsStatus``),
  ``ErrorCode``; other fields are ignored. ``delivered`` and ``read`` are delivered,
  ``undelivered`` and ``failed`` are themselves, and every other status (``queued``,
  ``sending``, ``sent``, ``accepted`` ...) is not final and changes nothing.

What a receipt does is :mod:`rapport.engine.delivery.receipts` (first final report
wins; a permanent error code suppresses the number). Answer ``200``::

    {"accepted": n, "applied": a, "suppressed": s, "ignored": k}

``applied``: receipts that matched a sent SMS (recorded now, or already); ``suppressed``:
those among them whose message failed with a permanent code; ``ignored``: no sent SMS
has that id. A Twilio form gets the same JSON (Twilio reads only the status code). All
items are checked before any is applied: a bad one is ``400`` naming its index (JSON)
or field, and nothing is applied. Logs carry counts, never numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rapport.engine.core.config import Settings
from rapport.engine.core.text import unstorable
from rapport.engine.customers import fields
from rapport.engine.delivery.receipts import MAX_ERROR_LENGTH, DeliveryStatus, Receipt
from rapport.engine.delivery.receipts import record_receipts as record
from rapport.engine.web.context import WebContext, web_context
from rapport.engine.web.webhook_auth import (
    BadPayload,
    PayloadTooLarge,
    UnsupportedMediaType,
    WebhookError,
    error_response,
    media_type,
    parse_form,
    parse_json,
    read_body,
    refuse_unauthenticated,
)

log = logging.getLogger(__name__)

MAX_RECEIPTS = 1000
MAX_JSON_BODY = 1024 * 1024
#: A Twilio status callback is a few hundred bytes even with every field.
MAX_FORM_BODY = 16 * 1024
#: ``outbox_message.provider_id`` holds no more: a longer id cannot match a message.
MAX_ID_LENGTH = 255

#: The generic statuses: the final ones, and the ones that change nothing.
_JSON_STATUSES: dict[str, DeliveryStatus | None] = {
    "delivered": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
    "queued": None,
    "sent": None,
}
#: Twilio's final statuses; any other MessageStatus is not final.
_TWILIO_FINAL: dict[str, DeliveryStatus] = {
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
}


def provider_text(where: str, value: Any, limit: int, *, required: bool = False) -> str | None:
    """A string field: bounded, without NUL characters (PostgreSQL text cannot hold
    them and no provider id has one) or lone surrogates (no database can); whole
    numbers are taken as their digits, others (``3.0005e4``, ``5.5``) refused: no
    provider's id or code is one."""
    if value is None or value == "":
        if required:
            raise BadPayload(f"{where}: required")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise BadPayload(f"{where}: must be a string or a whole number")
    value = value.strip()
    if not value and required:
        raise BadPayload(f"{where}: required")
    if len(value) > limit:
        raise BadPayload(f"{where}: longer than {limit} characters")
    if "\x00" in value:
        raise BadPayload(f"{where}: must not contain NUL characters")
    if (reason := unstorable(value)) is not None:  # a lone surrogate ("\ud800" in JSON)
        raise BadPayload(f"{where}: {reason}")
    return value or None


def parse_json_receipt(index: int, item: Any) -> Receipt:
    """One generic receipt, or :class:`BadPayload` naming ``item N: field``."""
    if not isinstance(item, dict):
        raise BadPayload(f"item {index}: must be a JSON object")
    provider_id = provider_text(
        f"item {index}: message_id", item.get("message_id"), MAX_ID_LENGTH, required=True
    )
    status = item.get("status")
    if not isinstance(status, str) or status.strip().lower() not in _JSON_STATUSES:
        raise BadPayload(f"item {index}: status: must be delivered, undelivered or failed")
    code = provider_text(f"item {index}: error_code", item.get("error_code"), MAX_ERROR_LENGTH)
    occurred = provider_text(f"item {index}: occurred_at", item.get("occurred_at"), 64)
    try:
        occurred_at = fields.iso_datetime(occurred) if occurred else None
    except fields.FieldInvalid as exc:
        raise BadPayload(f"item {index}: occurred_at: {exc.reason}") from None
    assert provider_id is not None
    return Receipt(provider_id, _JSON_STATUSES[status.strip().lower()], code, occurred_at)


def parse_json_receipts(data: Any) -> list[Receipt]:
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise BadPayload("body must be a JSON object or an array of objects")
    if len(items) > MAX_RECEIPTS:
        raise PayloadTooLarge(f"at most {MAX_RECEIPTS} receipts per request")
    return [parse_json_receipt(index, item) for index, item in enumerate(items)]


def parse_twilio_receipt(body: bytes) -> Receipt:
    """Twilio's status callback form, or :class:`BadPayload` naming the field."""
    form = parse_form(body)

    def field(*names: str) -> str | None:
        return next((form[name][0] for name in names if name in form), None)

    sid = provider_text("MessageSid", field("MessageSid", "SmsSid"), MAX_ID_LENGTH, required=True)
    status = provider_text("MessageStatus", field("MessageStatus", "SmsStatus"), 32, required=True)
    code = provider_text("ErrorCode", field("ErrorCode"), MAX_ERROR_LENGTH)
    assert sid is not None and status is not None
    return Receipt(sid, _TWILIO_FINAL.get(status.lower()), code)


async def read_receipts(request: Request) -> list[Receipt]:
    media = media_type(request)
    if media == "application/json":
        return parse_json_receipts(parse_json(await read_body(request, MAX_JSON_BODY)))
    if media == "application/x-www-form-urlencoded":
        return [parse_twilio_receipt(await read_body(request, MAX_FORM_BODY))]
    raise UnsupportedMediaType(
        "send application/json or application/x-www-form-urlencoded (Twilio)"
    )


# -- applying ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceiptTally:
    accepted: int = 0
    applied: int = 0
    suppressed: int = 0
    ignored: int = 0


def sms_channels(settings: Settings) -> tuple[str, ...]:
    """Every configured channel that delivers SMS (and ``sms`` itself)."""
    names = {name for name, config in settings.channels.items() if (config.kind or name) == "sms"}
    return tuple(sorted(names | {"sms"}))


def apply_receipts(web: WebContext, receipts: Sequence[Receipt]) -> ReceiptTally:
    with web.engine.begin() as connection:
        recorded = record(connection, receipts, web.now(), channels=sms_channels(web.settings))
    applied = sum(r.matched for r in recorded)
    tally = ReceiptTally(
        accepted=len(recorded),
        applied=applied,
        suppressed=sum(r.suppressed for r in recorded),
        ignored=len(recorded) - applied,
    )
    log.info(
        "sms receipts: %d accepted, %d applied, %d suppressing, %d ignored",
        tally.accepted,
        tally.applied,
        tally.suppressed,
        tally.ignored,
        extra=asdict(tally),
    )
    return tally


async def sms_status(request: Request) -> Response:
    web = web_context(request)
    if (refused := refuse_unauthenticated(request, web.settings)) is not None:
        return refused
    try:
        receipts = await read_receipts(request)
    except WebhookError as exc:
        return error_response(exc)
    tally = await run_in_threadpool(apply_receipts, web, receipts)
    return JSONResponse(asdict(tally))


routes: list[Route] = [Route("/webhooks/sms/status", sms_status, methods=["POST"])]
