"""``POST /webhooks/sms/inbound``: STOP, START, HELP and YES texts from providers.

Authenticated by the shared webhook token (:mod:`~rapport.engine.web.webhook_auth`).
Generic JSON ``{"from": "+989121234567", "to": "+15551234567", "text": "STOP"}`` (and
optionally the provider's ``message_id`` and ``received_at``) is answered with
``{"reply": "<text to send back>"}`` or ``{"reply": null}``; Twilio form fields
(``From``, ``Body``, ``MessageSid``) with TwiML, one ``<Message>`` or an empty
``<Response/>``.

Which texts are keywords is :mod:`rapport.engine.core.keywords`, with the local words of
``settings.sms_keywords``; other text gets no reply. What each keyword does:

* STOP: every SMS topic the sender's customers granted (or have pending) is
  withdrawn, source ``sms_keyword``, wording ``keyword:<WORD>``. One confirmation is
  sent even when the number is unknown: carriers expect STOP to be acknowledged.
* START: re-grants only the SMS topics whose latest withdrawal came from a keyword,
  so START never undoes an unsubscribe made elsewhere (link, operator, complaint).
* HELP: brand, contact, "Msg & data rates may apply" and how to stop; nothing is
  recorded.
* YES (or a local confirm word, بله, 确认 ...): grants the SMS topics the sender's
  customers switched on in the preference centre and have pending since at most
  ``web.confirm_link_days`` (7 days), source ``sms_reply``, wording
  ``sms-confirm-v2 keyword:<WORD>`` (:mod:`rapport.consent.confirmation`). With nothing
  pending in the window, YES does what START does (providers such as Twilio treat
  YES as an opt-in word and unblock the number on it, so the two must agree): only
  what a keyword withdrew is re-granted, else the reply says there is nothing to
  confirm. Nothing else is ever granted by a YES.

A keyword whose message id was processed already changes nothing and gets the answer
the first delivery got; a keyword counts from when the provider received it, so one
delivered late does not outrank the customer's later word (:mod:`rapport.consent.sms_ids`).

Replies are in the first matched customer's language, else the keyword's script
(Persian -> fa, Chinese -> zh), else English. Logs carry customer ids and counts,
never phone numbers or message text. Details: docs/webhooks.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

from sqlalchemy import Connection, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rapport.consent.confirmation import SMS_REPLY_SOURCE, confirm_pending, sms_reply_wording
from rapport.consent.sms_ids import capture_time, claim_sms_id, remember_reply
from rapport.consent.state import CurrentConsent, current_states, history
from rapport.consent.store import ConsentChange, record_consent
from rapport.engine.core.config import Settings
from rapport.engine.core.i18n import gettext, text_direction, ui_language
from rapport.engine.core.keywords import Keyword, KeywordAction, match_keyword
from rapport.engine.core.models import CUSTOMER, ConsentStatus
from rapport.engine.core.sender import sms_signature
from rapport.engine.customers import fields
from rapport.engine.web.context import WebContext, web_context
from rapport.engine.web.sms_receipts import MAX_ID_LENGTH, provider_text
from rapport.engine.web.webhook_auth import (
    BadPayload,
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


SMS_SOURCE = "sms_keyword"
#: An inbound SMS is at most a few kilobytes even with every provider field.
MAX_SMS_BODY = 16 * 1024

_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def N_(message: str) -> str:
    """Mark a string for catalog extraction (Babel knows ``N_``); translated on use."""
    return message


STOP_REPLY = N_(
    "{brand}: You are unsubscribed and will get no more marketing texts. "
    "Reply START to resubscribe."
)
START_REPLY = N_(
    "{brand}: You are subscribed again. Msg & data rates may apply. "
    "Reply HELP for help, STOP to opt out."
)
START_NOTHING_REPLY = N_(
    "{brand}: There are no texts to resume for this number. Reply HELP for help."
)
CONFIRM_REPLY = N_(
    "{brand}: Thank you, your texts are confirmed. Msg frequency varies. "
    "Msg & data rates may apply. Reply HELP for help, STOP to opt out."
)
CONFIRM_NOTHING_REPLY = N_(
    "{brand}: There is nothing to confirm for this number. Reply HELP for help."
)
HELP_REPLY = N_(
    "{brand}: Questions? Contact {contact}. Msg & data rates may apply. Reply STOP to opt out."
)
#: Each reply by the name ``sms_inbound_id.reply`` keeps, so a repeat gets the same one.
REPLIES = {
    "stop": STOP_REPLY,
    "start": START_REPLY,
    "start-none": START_NOTHING_REPLY,
    "confirm": CONFIRM_REPLY,
    "confirm-none": CONFIRM_NOTHING_REPLY,
    "help": HELP_REPLY,
}
#: Why a keyword changed nothing, as its log line says.
REPEATED = "the message id was processed already"


# -- request and reply ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboundSMS:
    sender: str
    text: str
    #: Twilio form post: answer in TwiML rather than JSON.
    twiml: bool
    #: The provider's id of the message: a repeat of one processed changes nothing.
    message_id: str | None = None
    #: When the provider received it (the generic shape's ``received_at``).
    received_at: datetime | None = None


def _received_at(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadPayload("received_at: must be a string, an ISO 8601 date-time")
    try:
        return fields.iso_datetime(value, "received_at")
    except fields.FieldInvalid as exc:
        raise BadPayload(f"received_at: {exc.reason}") from None


def _inbound_from_json(body: bytes) -> InboundSMS:
    data = parse_json(body)
    if not isinstance(data, dict):
        raise BadPayload("body must be a JSON object")
    sender, text = data.get("from"), data.get("text")
    if not isinstance(sender, str) or not sender.strip():
        raise BadPayload("from: required, a phone number in E.164 form")
    if text is not None and not isinstance(text, str):
        raise BadPayload("text: must be a string")
    message_id = provider_text("message_id", data.get("message_id"), MAX_ID_LENGTH)
    return InboundSMS(sender, text or "", False, message_id, _received_at(data.get("received_at")))


def _inbound_from_form(body: bytes) -> InboundSMS:
    fields = parse_form(body)
    sender = (fields.get("From") or [""])[0]
    if not sender.strip():
        raise BadPayload("From: required, a phone number in E.164 form")
    sid = next((fields[name][0] for name in _SID_FIELDS if name in fields), None)
    message_id = provider_text("MessageSid", sid, MAX_ID_LENGTH)
    return InboundSMS(sender, (fields.get("Body") or [""])[0], True, message_id)


#: Twilio's id of an inbound message; the older names first seen in its webhooks too.
_SID_FIELDS = ("MessageSid", "SmsMessageSid", "SmsSid")


async def read_inbound_sms(request: Request) -> InboundSMS:
    """The sender and text of an inbound SMS, in either documented shape."""
    media = media_type(request)
    if media not in ("application/json", "application/x-www-form-urlencoded"):
        raise UnsupportedMediaType(
            "send application/json or application/x-www-form-urlencoded (Twilio)"
        )
    body = await read_body(request, MAX_SMS_BODY)
    if media == "application/json":
        return _inbound_from_json(body)
    return _inbound_from_form(body)


def sms_response(reply: str | None, *, twiml: bool) -> Response:
    """One reply (or none) as JSON or TwiML; never more than one Message."""
    if not twiml:
        return JSONResponse({"reply": reply})
    if reply is None:
        return Response(f"{_XML_DECLARATION}<Response/>", media_type="application/xml")
    return Response(
        f"{_XML_DECLARATION}<Response><Message>{escape(reply)}</Message></Response>",
        media_type="application/xml",
    )


# -- consent changes --------------------------------------------------------------------


def _sms_channels(settings: Settings) -> tuple[str, ...]:
    """Every configured channel that delivers SMS (and ``sms`` itself): an opt-out
    covers the medium, whichever adapter the operator named."""
    names = {name for name, config in settings.channels.items() if (config.kind or name) == "sms"}
    return tuple(sorted(names | {"sms"}))


@dataclass(frozen=True, slots=True)
class Recipient:
    """A customer an inbound text concerns; plain columns only."""

    id: str
    locale: str


#: Why a keyword concerned no customer, as its log line says (never the number).
NO_PHONE = "the sender is not a phone number"
NO_CUSTOMER = "no customer has the number"


def e164(sender: str) -> str | None:
    """The sender as stored on customers (E.164), or None if it is not a phone number."""
    try:
        return fields.phone(sender.strip())
    except fields.FieldInvalid:
        return None


def customers_by_phone(connection: Connection, phone: str | None) -> list[Recipient]:
    """Customers (not erased) with this number, oldest id first so "first" is stable."""
    if phone is None:
        return []
    rows = connection.execute(
        select(CUSTOMER.c.id, CUSTOMER.c.locale)
        .where(CUSTOMER.c.phone == phone, CUSTOMER.c.erased_at.is_(None))
        .order_by(CUSTOMER.c.id)
    )
    return [Recipient(row.id, row.locale) for row in rows]


@dataclass(frozen=True, slots=True)
class Moment:
    """When a keyword counts from (the provider's receive time, or its arrival) and
    when it arrived (recorded)."""

    captured: datetime
    arrival: datetime


def stop_sms(
    connection: Connection,
    customers: Sequence[Recipient],
    keyword: Keyword,
    channels: Sequence[str],
    at: Moment,
) -> int:
    """Withdraw every granted or pending SMS topic; returns how many.

    A topic a keyword withdrew already is withdrawn again, at this STOP's time: the
    customer's latest STOP is on record, so a START they sent before it and the
    provider delivers after it does not outrank it."""
    changes: list[ConsentChange] = []
    active = 0
    for customer in customers:
        states = [s for s in current_states(connection, customer.id) if s.channel in channels]
        stoppable = {
            (state.channel, state.topic)
            for state in states
            if state.status in (ConsentStatus.GRANTED, ConsentStatus.PENDING)
        }
        active += len(stoppable)
        stoppable.update(_keyword_withdrawn(connection, customer.id, channels, states))
        changes += [
            _keyword_fact(customer, pair, ConsentStatus.WITHDRAWN, keyword, at)
            for pair in sorted(stoppable)
        ]
    record_consent(connection, changes, recorded_at=at.arrival)
    return active


def _keyword_fact(
    customer: Recipient,
    pair: tuple[str, str],
    status: ConsentStatus,
    keyword: Keyword,
    at: Moment,
) -> ConsentChange:
    """The evidence of one (channel, topic) a keyword changed."""
    channel, topic = pair
    return ConsentChange(
        customer.id,
        channel,
        topic,
        status.value,
        SMS_SOURCE,
        at.captured,
        wording=f"keyword:{keyword.word}",
        locale=customer.locale,
    )


def _keyword_withdrawn(
    connection: Connection,
    customer_id: str,
    channels: Sequence[str],
    states: Sequence[CurrentConsent] | None = None,
) -> list[tuple[str, str]]:
    """SMS (channel, topic) pairs now withdrawn whose latest withdrawal was a keyword
    (``states``: the customer's current states, when the caller has read them)."""
    if states is None:
        states = current_states(connection, customer_id)
    withdrawn = {
        (state.channel, state.topic)
        for state in states
        if state.channel in channels and state.status == ConsentStatus.WITHDRAWN
    }
    latest_source: dict[tuple[str, str], str] = {}
    for record in history(connection, customer_id):  # oldest first: the last one wins
        if record.status == ConsentStatus.WITHDRAWN and record.channel in channels:
            latest_source[(record.channel, record.topic)] = record.source
    return sorted(pair for pair in withdrawn if latest_source.get(pair) == SMS_SOURCE)


def start_sms(
    connection: Connection,
    customers: Sequence[Recipient],
    keyword: Keyword,
    channels: Sequence[str],
    at: Moment,
) -> int:
    """Re-grant what a keyword withdrew, and nothing else; returns how many topics it
    granted (none for a START captured before the latest withdrawal: it is recorded
    as evidence, and the later word stands)."""
    changes = [
        _keyword_fact(customer, pair, ConsentStatus.GRANTED, keyword, at)
        for customer in customers
        for pair in _keyword_withdrawn(connection, customer.id, channels)
    ]
    return record_consent(connection, changes, recorded_at=at.arrival).state_changes


def confirm_sms(
    connection: Connection,
    customers: Sequence[Recipient],
    keyword: Keyword,
    channels: Sequence[str],
    at: Moment,
    window: timedelta,
) -> int:
    """Grant the SMS topics that were pending when the reply was received, switched
    on at most ``window`` before it; returns how many."""
    return sum(
        len(
            confirm_pending(
                connection,
                customer.id,
                channels,
                source=SMS_REPLY_SOURCE,
                wording=sms_reply_wording(keyword.word),
                now=at.arrival,
                since=at.captured - window,
                captured_at=at.captured,
                locale=customer.locale,
            )
        )
        for customer in customers
    )


# -- the handler ------------------------------------------------------------------------


def render_reply(language: str, message: str, settings: Settings) -> str:
    """``message`` in ``language`` with brand and contact filled in.

    The brand is the language's SMS signature (``sender.sms_signature``: '【Rapport】' in
    Chinese) and stands where the translation puts it: first in English and Chinese,
    after the text in Persian and Arabic, so that a right-to-left reply starts with a
    right-to-left letter and the phone lays it out right to left.

    In a right-to-left reply the contact stands between U+2068 and U+2069: a phone
    number's groups would otherwise be laid out in reverse ('5678 1234 21 98+'). A
    left-to-right reply gets no isolates, which would make an English one UCS-2.

    A translation with a broken placeholder falls back to English rather than
    failing the webhook: the provider would retry and the person would get nothing.
    """
    contact = settings.sender.contact
    if text_direction(language) == "rtl":
        contact = "\u2068" + contact + "\u2069"
    values = {"brand": sms_signature(settings.sender, language), "contact": contact}
    try:
        return gettext(language, message).format(**values)
    except (KeyError, IndexError, ValueError):
        log.warning("sms reply translation for %s has broken placeholders", language)
        return message.format(**values)


def apply_keyword(
    web: WebContext,
    connection: Connection,
    keyword: Keyword,
    customers: Sequence[Recipient],
    at: Moment,
) -> tuple[str, int]:
    """What the keyword does for these customers: the reply's name and how many topics
    it changed."""
    channels = _sms_channels(web.settings)
    if keyword.action is KeywordAction.STOP:
        return "stop", stop_sms(connection, customers, keyword, channels, at)
    if keyword.action is KeywordAction.START:
        changed = start_sms(connection, customers, keyword, channels, at)
        return ("start" if changed else "start-none"), changed
    if keyword.action is KeywordAction.CONFIRM:
        window = timedelta(days=web.settings.web.confirm_link_days)
        if changed := confirm_sms(connection, customers, keyword, channels, at, window):
            return "confirm", changed
        changed = start_sms(connection, customers, keyword, channels, at)
        return ("start" if changed else "confirm-none"), changed
    return "help", 0


def handle_keyword(web: WebContext, keyword: Keyword, inbound: InboundSMS) -> str:
    """Apply a keyword for the sender's customers in one transaction; the reply text.

    With a message id, claiming it is the transaction's first write: a repeat changes
    nothing and is given the reply the first delivery got."""
    arrival = web.now()
    captured, distrusted = capture_time(inbound.received_at, arrival)
    if distrusted is not None:
        log.info(
            "sms keyword %s: captured at its arrival", keyword.action, extra={"reason": distrusted}
        )
    phone = e164(inbound.sender)
    extra: dict[str, object] = {}
    with web.engine.begin() as connection:
        earlier = None
        if inbound.message_id is not None:
            earlier = claim_sms_id(connection, inbound.message_id, arrival)
        customers = customers_by_phone(connection, phone)
        if earlier is not None:
            reply, changed = earlier, 0
            extra["reason"] = REPEATED
        else:
            reply, changed = apply_keyword(
                web, connection, keyword, customers, Moment(captured, arrival)
            )
            if inbound.message_id is not None:
                remember_reply(connection, inbound.message_id, reply)
    extra |= {"customer_ids": [c.id for c in customers], "changed": changed}
    if not customers and "reason" not in extra:  # answered all the same: a provider
        extra["reason"] = NO_PHONE if phone is None else NO_CUSTOMER  # retries all but 2xx
    log.info("sms keyword %s: %d topic(s) changed", keyword.action, changed, extra=extra)
    language = ui_language(customers[0].locale) if customers else (keyword.language or "en")
    message = REPLIES.get(reply) or REPLIES[_DEFAULT_REPLY[keyword.action]]
    return render_reply(language, message, web.settings)


#: The reply to a repeat whose first delivery's reply was not remembered.
_DEFAULT_REPLY = {
    KeywordAction.STOP: "stop",
    KeywordAction.START: "start-none",
    KeywordAction.CONFIRM: "confirm-none",
    KeywordAction.HELP: "help",
}


async def sms_inbound(request: Request) -> Response:
    web = web_context(request)
    if (refused := refuse_unauthenticated(request, web.settings)) is not None:
        return refused
    try:
        inbound = await read_inbound_sms(request)
    except WebhookError as exc:
        return error_response(exc)
    keyword = match_keyword(inbound.text, web.settings.sms_keywords)
    if keyword is None:
        log.info("inbound sms without a keyword: no reply")
        return sms_response(None, twiml=inbound.twiml)
    reply = await run_in_threadpool(handle_keyword, web, keyword, inbound)
    return sms_response(reply, twiml=inbound.twiml)


routes: list[Route] = [Route("/webhooks/sms/inbound", sms_inbound, methods=["POST"])]
