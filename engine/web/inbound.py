"""Provider webhooks: inbound SMS keywords and e-mail bounce/complaint events.

Providers call these, not people, so both share one authentication rule: the
``X-Rapport-Webhook-Token`` header must equal ``web.webhook_token`` (from
RAPPORT_WEBHOOK_TOKEN). Twilio cannot add headers, so the token is also accepted as
the password of HTTP Basic authentication (put it in the webhook URL:
``https://twilio:TOKEN@host/webhooks/sms/inbound``; Twilio retries with credentials
after the ``401`` challenge). Wrong or missing token: ``401``. No token configured:
``503``, because an unauthenticated endpoint that withdraws consent or suppresses
addresses would let anyone silence any customer.

``POST /webhooks/sms/inbound``
------------------------------
Generic JSON (``Content-Type: application/json``)::

    {"from": "+989121234567", "to": "+15551234567", "text": "STOP"}

answered with ``{"reply": "<text to send back>"}`` or ``{"reply": null}``.

Twilio form fields (``application/x-www-form-urlencoded``; ``From``, ``Body``)
answered with TwiML (``application/xml``)::

    <?xml version="1.0" encoding="UTF-8"?><Response><Message>...</Message></Response>

or ``<Response/>`` when there is nothing to say.

The whole message must be a keyword (compared after NFKC, trimming, collapsing
spaces, dropping trailing punctuation and case-folding), so "please stop the
birthday texts" is not a STOP: other inbound text is not ours to answer.

* STOP words (STOP, STOPALL, QUIT, END, REVOKE, OPT OUT, OPTOUT, CANCEL,
  UNSUBSCRIBE, plus :class:`SMSKeywords` local words): every SMS topic the sender's
  customers granted (or have pending) is withdrawn, source ``sms_keyword``, wording
  ``keyword:<WORD>``. One confirmation is sent even when the number is unknown,
  because carriers expect STOP to be acknowledged.
* START words (START, UNSTOP, YES, plus local words): re-grants only the SMS topics
  whose latest withdrawal came from a keyword, so START never undoes an unsubscribe
  made elsewhere (a link, an operator, a complaint).
* HELP words (HELP, INFO, plus local words): brand, contact, "Msg & data rates may
  apply" and how to stop. Nothing is recorded.

Replies are in the first matched customer's language, else the keyword's script
(Persian -> fa, Chinese -> zh), else English.

``POST /webhooks/email/events``
-------------------------------
A JSON object, or an array of up to 1000 objects::

    {"type": "bounce" | "complaint" | "delivery",
     "email": "a@example.com",
     "bounce_type": "hard" | "soft",          # bounces only, required for them
     "reason": "550 5.1.1 user unknown",      # optional, kept as suppression detail
     "message_id": "<id@rapport.example>",    # optional
     "occurred_at": "2025-06-01T09:30:00Z"}   # optional ISO 8601; default: now

Hard bounce: the address is suppressed (reason ``bounce``). Complaint: suppressed
(reason ``complaint``) and every e-mail topic of the customers with that address is
withdrawn (source ``complaint``). Soft bounce, delivery: counted, nothing else.
Answer: ``{"accepted": n, "suppressed": m, "ignored": k}`` (``accepted`` = every
item; ``suppressed`` = hard bounces and complaints; ``ignored`` = the rest). All
items are validated before any is applied: one bad item gives ``400`` with
``{"error": "item 2: email: ..."}`` (0-based index) and nothing is applied. Repeating
an event changes nothing.

Logs carry customer ids and counts, never phone numbers, addresses or message text.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from sqlalchemy import Connection, func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rapport.consent.state import current_states, history
from rapport.consent.store import ConsentChange, record_consent
from rapport.engine import outbox, validation
from rapport.engine.config import Settings
from rapport.engine.i18n import gettext, ui_language
from rapport.engine.models import ConsentStatus, Customer
from rapport.engine.web.app import WebContext, web_context
from rapport.engine.web.unsubscribe import withdraw_channel

log = logging.getLogger(__name__)

CUSTOMER = Customer.__table__  # type: ignore[attr-defined]

TOKEN_HEADER = "X-Rapport-Webhook-Token"
SMS_SOURCE = "sms_keyword"
COMPLAINT_SOURCE = "complaint"

#: An inbound SMS is at most a few kilobytes even with every provider field.
MAX_SMS_BODY = 16 * 1024
MAX_EVENTS_BODY = 1024 * 1024
MAX_EVENTS = 1000
#: Keywords become part of the consent wording (``keyword:<WORD>``, 200 characters).
MAX_KEYWORD_LENGTH = 40
#: The suppression list's ``detail`` column.
MAX_DETAIL_LENGTH = 500
MAX_MESSAGE_ID_LENGTH = 998
_IN_CHUNK = 500

_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
# Persian typed on an Arabic keyboard: the same word with Arabic yeh/kaf must match.
_ARABIC_TO_PERSIAN = str.maketrans({"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9"})


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
HELP_REPLY = N_(
    "{brand}: Questions? Contact {contact}. Msg & data rates may apply. Reply STOP to opt out."
)


# -- errors -----------------------------------------------------------------------------


class WebhookError(Exception):
    """A request we refuse; ``status_code`` and the message become the JSON answer."""

    status_code = 400


class BadPayload(WebhookError):
    """The body cannot be read as the documented shape."""


class MalformedEvent(BadPayload):
    """One e-mail event is wrong; names its index and field so the provider can fix it."""

    def __init__(self, index: int, field: str | None, reason: str) -> None:
        where = f"item {index}: {field}" if field else f"item {index}"
        super().__init__(f"{where}: {reason}")
        self.index = index
        self.field = field
        self.reason = reason


class PayloadTooLarge(WebhookError):
    status_code = 413


class UnsupportedMediaType(WebhookError):
    status_code = 415


def _error(exc: WebhookError) -> Response:
    return JSONResponse({"error": str(exc)}, status_code=exc.status_code)


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


def _refuse_unauthenticated(request: Request, settings: Settings) -> Response | None:
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


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _read_body(request: Request, limit: int) -> bytes:
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


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise BadPayload("body is not valid JSON") from None


# -- SMS keywords -----------------------------------------------------------------------


class KeywordAction(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


STANDARD_KEYWORDS: dict[KeywordAction, tuple[str, ...]] = {
    KeywordAction.STOP: (
        "STOP",
        "STOPALL",
        "QUIT",
        "END",
        "REVOKE",
        "OPT OUT",
        "OPTOUT",
        "CANCEL",
        "UNSUBSCRIBE",
    ),
    KeywordAction.START: ("START", "UNSTOP", "YES"),
    KeywordAction.HELP: ("HELP", "INFO"),
}


def normalise_keyword(text: str) -> str:
    """The comparable form of a message: how a person typed it must not matter.

    NFKC folds full-width forms (``ＳＴＯＰ``) and presentation forms; format
    characters (direction marks some phones insert) go; inner spaces collapse;
    trailing punctuation (``STOP.``, ``退订。``) goes; case folds; Arabic yeh and kaf
    become their Persian forms.
    """
    text = unicodedata.normalize("NFKC", text)
    text = "".join(char for char in text if unicodedata.category(char) != "Cf")
    text = " ".join(text.split())
    while text and (unicodedata.category(text[-1]).startswith("P") or text[-1].isspace()):
        text = text[:-1]
    return text.casefold().translate(_ARABIC_TO_PERSIAN)


def script_language(word: str) -> str | None:
    """The UI language a keyword's script suggests: Arabic script -> fa, Han -> zh."""
    for char in word:
        name = unicodedata.name(char, "")
        if name.startswith(("ARABIC", "PERSIAN")):
            return "fa"
        if name.startswith("CJK"):
            return "zh"
    return None


@dataclass(frozen=True, slots=True)
class Keyword:
    """A matched keyword: what to do, the word as configured (for the evidence), and
    the language its script suggests."""

    action: KeywordAction
    word: str
    language: str | None


def _build_table(words: dict[KeywordAction, Iterable[str]]) -> dict[str, Keyword]:
    table: dict[str, Keyword] = {}
    for action, listed in words.items():
        for word in listed:
            key = normalise_keyword(word)
            known = table.get(key)
            if known is not None and known.action is not action:
                raise ValueError(f"keyword {word!r} is both a {known.action} and a {action} word")
            table.setdefault(key, Keyword(action, word, script_language(word)))
    return table


class SMSKeywords(BaseModel):
    """Local-language keywords, honoured on top of the standard English ones.

    The English words (:data:`STANDARD_KEYWORDS`) are always honoured: carriers
    require them, so configuration can add words but never remove STOP. The lead
    will wire a ``sms_keywords:`` section of config.yaml to this model; until then
    the web app uses these defaults unless ``app.state.sms_keywords`` is set.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    stop: tuple[str, ...] = ("لغو", "توقف", "انصراف", "退订", "TD", "取消")
    start: tuple[str, ...] = ("شروع", "订阅")
    help: tuple[str, ...] = ("راهنما", "帮助")

    @field_validator("stop", "start", "help")
    @classmethod
    def _usable(cls, words: tuple[str, ...]) -> tuple[str, ...]:
        for word in words:
            if not normalise_keyword(word):
                raise ValueError("a keyword must contain letters, not only spaces or punctuation")
            if len(word) > MAX_KEYWORD_LENGTH:
                raise ValueError(f"keyword longer than {MAX_KEYWORD_LENGTH} characters")
        return words

    @model_validator(mode="after")
    def _distinct(self) -> SMSKeywords:
        keyword_table(self)
        return self

    def words(self) -> dict[KeywordAction, tuple[str, ...]]:
        return {
            KeywordAction.STOP: STANDARD_KEYWORDS[KeywordAction.STOP] + self.stop,
            KeywordAction.START: STANDARD_KEYWORDS[KeywordAction.START] + self.start,
            KeywordAction.HELP: STANDARD_KEYWORDS[KeywordAction.HELP] + self.help,
        }


@lru_cache(maxsize=8)
def keyword_table(keywords: SMSKeywords) -> dict[str, Keyword]:
    """Normalised word -> keyword; built once per configuration, not per message."""
    return _build_table(keywords.words())


DEFAULT_KEYWORDS = SMSKeywords()


def match_keyword(text: str, keywords: SMSKeywords = DEFAULT_KEYWORDS) -> Keyword | None:
    """The keyword the whole message is, or None for any other text."""
    return keyword_table(keywords).get(normalise_keyword(text))


@dataclass(frozen=True, slots=True)
class InboundSMS:
    sender: str
    text: str
    #: Twilio form post: answer in TwiML rather than JSON.
    twiml: bool


def _inbound_from_json(body: bytes) -> InboundSMS:
    data = _parse_json(body)
    if not isinstance(data, dict):
        raise BadPayload("body must be a JSON object")
    sender, text = data.get("from"), data.get("text")
    if not isinstance(sender, str) or not sender.strip():
        raise BadPayload("from: required, a phone number in E.164 form")
    if text is not None and not isinstance(text, str):
        raise BadPayload("text: must be a string")
    return InboundSMS(sender, text or "", twiml=False)


def _inbound_from_form(body: bytes) -> InboundSMS:
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise BadPayload("form body is not UTF-8 URL-encoded fields") from None
    sender = (fields.get("From") or [""])[0]
    if not sender.strip():
        raise BadPayload("From: required, a phone number in E.164 form")
    return InboundSMS(sender, (fields.get("Body") or [""])[0], twiml=True)


async def read_inbound_sms(request: Request) -> InboundSMS:
    """The sender and text of an inbound SMS, in either documented shape."""
    media = _media_type(request)
    if media not in ("application/json", "application/x-www-form-urlencoded"):
        raise UnsupportedMediaType(
            "send application/json or application/x-www-form-urlencoded (Twilio)"
        )
    body = await _read_body(request, MAX_SMS_BODY)
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


def _channels_of_kind(settings: Settings, kind: str) -> tuple[str, ...]:
    """Every configured channel that delivers ``kind`` (and ``kind`` itself): an
    opt-out covers the medium, whichever adapter the operator named."""
    names = {name for name, config in settings.channels.items() if (config.kind or name) == kind}
    return tuple(sorted(names | {kind}))


@dataclass(frozen=True, slots=True)
class Recipient:
    """A customer an inbound message concerns; plain columns only."""

    id: str
    locale: str
    address: str | None = None


def e164(sender: str) -> str | None:
    """The sender as stored on customers (E.164), or None if it is not a phone number."""
    try:
        return validation.phone(sender.strip())
    except validation.FieldInvalid:
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


def stop_sms(
    connection: Connection,
    customers: Sequence[Recipient],
    keyword: Keyword,
    channels: Sequence[str],
    now: datetime,
) -> int:
    """Withdraw every granted or pending SMS topic; returns how many."""
    return sum(
        withdraw_channel(
            connection,
            customer.id,
            channel,
            source=SMS_SOURCE,
            now=now,
            wording=f"keyword:{keyword.word}",
            locale=customer.locale,
        )
        for customer in customers
        for channel in channels
    )


def _keyword_withdrawn(
    connection: Connection, customer_id: str, channels: Sequence[str]
) -> list[tuple[str, str]]:
    """SMS (channel, topic) pairs now withdrawn whose latest withdrawal was a keyword."""
    withdrawn = {
        (state.channel, state.topic)
        for state in current_states(connection, customer_id)
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
    now: datetime,
) -> int:
    """Re-grant what a keyword withdrew, and nothing else; returns how many topics."""
    changes = [
        ConsentChange(
            customer.id,
            channel,
            topic,
            ConsentStatus.GRANTED.value,
            SMS_SOURCE,
            now,
            wording=f"keyword:{keyword.word}",
            locale=customer.locale,
        )
        for customer in customers
        for channel, topic in _keyword_withdrawn(connection, customer.id, channels)
    ]
    record_consent(connection, changes, recorded_at=now)
    return len(changes)


def render_reply(language: str, message: str, settings: Settings) -> str:
    """``message`` in ``language`` with brand and contact filled in.

    A translation with a broken placeholder falls back to English rather than
    failing the webhook: the provider would retry and the person would get nothing.
    """
    values = {"brand": settings.sender.brand, "contact": settings.sender.contact}
    try:
        return gettext(language, message).format(**values)
    except (KeyError, IndexError, ValueError):
        log.warning("sms reply translation for %s has broken placeholders", language)
        return message.format(**values)


def handle_keyword(web: WebContext, keyword: Keyword, sender: str) -> str:
    """Apply a keyword for the sender's customers in one transaction; the reply text."""
    now = web.now()
    channels = _channels_of_kind(web.settings, "sms")
    with web.engine.begin() as connection:
        customers = customers_by_phone(connection, e164(sender))
        if keyword.action is KeywordAction.STOP:
            changed = stop_sms(connection, customers, keyword, channels, now)
            message = STOP_REPLY
        elif keyword.action is KeywordAction.START:
            changed = start_sms(connection, customers, keyword, channels, now)
            message = START_REPLY if changed else START_NOTHING_REPLY
        else:
            changed = 0
            message = HELP_REPLY
    log.info(
        "sms keyword %s for customers %s: %d topic(s) changed",
        keyword.action,
        [customer.id for customer in customers],
        changed,
    )
    language = ui_language(customers[0].locale) if customers else (keyword.language or "en")
    return render_reply(language, message, web.settings)


def _keywords(request: Request) -> SMSKeywords:
    configured = getattr(request.app.state, "sms_keywords", None)
    return configured if isinstance(configured, SMSKeywords) else DEFAULT_KEYWORDS


async def sms_inbound(request: Request) -> Response:
    web = web_context(request)
    if (refused := _refuse_unauthenticated(request, web.settings)) is not None:
        return refused
    try:
        inbound = await read_inbound_sms(request)
    except WebhookError as exc:
        return _error(exc)
    keyword = match_keyword(inbound.text, _keywords(request))
    if keyword is None:
        log.info("inbound sms without a keyword: no reply")
        return sms_response(None, twiml=inbound.twiml)
    reply = await run_in_threadpool(handle_keyword, web, keyword, inbound.sender)
    return sms_response(reply, twiml=inbound.twiml)


# -- e-mail events ----------------------------------------------------------------------


class EmailEventType(StrEnum):
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    DELIVERY = "delivery"


@dataclass(frozen=True, slots=True)
class EmailEvent:
    type: EmailEventType
    email: str
    bounce_type: str | None = None
    reason: str | None = None
    message_id: str | None = None
    occurred_at: datetime | None = None

    @property
    def suppression_reason(self) -> str | None:
        """``bounce`` or ``complaint`` when the address must be suppressed, else None."""
        if self.type is EmailEventType.COMPLAINT:
            return "complaint"
        if self.type is EmailEventType.BOUNCE and self.bounce_type == "hard":
            return "bounce"
        return None


def _optional_text(index: int, item: dict[str, Any], field: str, limit: int) -> str | None:
    value = item.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedEvent(index, field, "must be a string")
    if len(value) > limit:
        raise MalformedEvent(index, field, f"longer than {limit} characters")
    return value


def parse_email_event(index: int, item: Any) -> EmailEvent:
    """One documented event, or :class:`MalformedEvent` naming the field."""
    if not isinstance(item, dict):
        raise MalformedEvent(index, None, "must be a JSON object")
    try:
        kind = EmailEventType(item.get("type"))
    except ValueError:
        raise MalformedEvent(index, "type", "must be bounce, complaint or delivery") from None
    address = item.get("email")
    if not isinstance(address, str):
        raise MalformedEvent(index, "email", "required, an e-mail address")
    try:
        address = validation.email(address.strip())
    except validation.FieldInvalid as exc:
        raise MalformedEvent(index, "email", exc.reason) from None
    bounce_type = None
    if kind is EmailEventType.BOUNCE:
        bounce_type = item.get("bounce_type")
        if bounce_type not in ("hard", "soft"):
            raise MalformedEvent(index, "bounce_type", "required for bounces: hard or soft")
    reason = item.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise MalformedEvent(index, "reason", "must be a string")
    occurred = _optional_text(index, item, "occurred_at", 64)
    try:
        occurred_at = validation.iso_datetime(occurred) if occurred else None
    except validation.FieldInvalid as exc:
        raise MalformedEvent(index, "occurred_at", exc.reason) from None
    return EmailEvent(
        type=kind,
        email=address,
        bounce_type=bounce_type,
        # Provider diagnostics can be long; the detail is for people, so cut it.
        reason=reason[:MAX_DETAIL_LENGTH] if reason else None,
        message_id=_optional_text(index, item, "message_id", MAX_MESSAGE_ID_LENGTH),
        occurred_at=occurred_at,
    )


def parse_email_events(data: Any) -> list[EmailEvent]:
    """Every event of a request, all validated before any is applied."""
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise BadPayload("body must be a JSON object or an array of objects")
    if len(items) > MAX_EVENTS:
        raise PayloadTooLarge(f"at most {MAX_EVENTS} events per request")
    return [parse_email_event(index, item) for index, item in enumerate(items)]


@dataclass(frozen=True, slots=True)
class EventTally:
    accepted: int = 0
    suppressed: int = 0
    ignored: int = 0


def customers_by_email(
    connection: Connection, addresses: Iterable[str]
) -> dict[str, list[Recipient]]:
    """Customers (not erased) by case-folded address: providers may change the case
    of the local part, and a complaint must still reach the customer."""
    wanted = sorted({address.lower() for address in addresses})
    found: dict[str, list[Recipient]] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        rows = connection.execute(
            select(CUSTOMER.c.id, CUSTOMER.c.locale, CUSTOMER.c.email)
            .where(func.lower(CUSTOMER.c.email).in_(chunk), CUSTOMER.c.erased_at.is_(None))
            .order_by(CUSTOMER.c.id)
        )
        for row in rows:
            found.setdefault(row.email.lower(), []).append(Recipient(row.id, row.locale, row.email))
    return found


def withdraw_topics(
    connection: Connection,
    customer: Recipient,
    channels: Sequence[str],
    *,
    source: str,
    captured_at: datetime,
    recorded_at: datetime,
) -> int:
    """Withdraw every granted or pending topic on ``channels``; returns how many.

    Unlike :func:`withdraw_channel` the capture time is the provider's (when the
    person complained), which may be earlier than when we heard of it.
    """
    changes = [
        ConsentChange(
            customer.id,
            state.channel,
            state.topic,
            ConsentStatus.WITHDRAWN.value,
            source,
            captured_at,
            locale=customer.locale,
        )
        for state in current_states(connection, customer.id)
        if state.channel in channels
        and state.status in (ConsentStatus.GRANTED, ConsentStatus.PENDING)
    ]
    record_consent(connection, changes, recorded_at=recorded_at)
    return len(changes)


def apply_email_events(
    connection: Connection, events: Sequence[EmailEvent], settings: Settings, now: datetime
) -> EventTally:
    """Suppress hard bounces and complaints, withdraw complainers' e-mail consent."""
    acting = [event for event in events if event.suppression_reason]
    customers = customers_by_email(connection, (event.email for event in acting))
    entries: dict[str, tuple[str, str, str, str | None]] = {}
    for event in acting:
        reason = event.suppression_reason
        assert reason is not None
        # The address as reported and as each customer has it stored: dispatch
        # compares exact strings.
        spellings = [event.email] + [c.address for c in customers.get(event.email.lower(), [])]
        for address in spellings:
            if address and address not in entries:
                entries[address] = ("email", address, reason, event.reason)
    outbox.suppress(connection, entries.values(), now)
    channels = _channels_of_kind(settings, "email")
    withdrawn: list[str] = []
    for event in acting:
        if event.type is not EmailEventType.COMPLAINT:
            continue
        # A provider clock ahead of ours must not push the withdrawal into the future.
        captured_at = min(event.occurred_at or now, now)
        for customer in customers.get(event.email.lower(), []):
            if withdraw_topics(
                connection,
                customer,
                channels,
                source=COMPLAINT_SOURCE,
                captured_at=captured_at,
                recorded_at=now,
            ):
                withdrawn.append(customer.id)
    log.info(
        "e-mail events: %d accepted, %d suppressing; e-mail consent withdrawn for %s",
        len(events),
        len(acting),
        withdrawn,
    )
    return EventTally(
        accepted=len(events), suppressed=len(acting), ignored=len(events) - len(acting)
    )


def _apply(web: WebContext, events: Sequence[EmailEvent]) -> EventTally:
    with web.engine.begin() as connection:
        return apply_email_events(connection, events, web.settings, web.now())


async def email_events(request: Request) -> Response:
    web = web_context(request)
    if (refused := _refuse_unauthenticated(request, web.settings)) is not None:
        return refused
    try:
        events = parse_email_events(_parse_json(await _read_body(request, MAX_EVENTS_BODY)))
    except WebhookError as exc:
        return _error(exc)
    tally = await run_in_threadpool(_apply, web, events)
    return JSONResponse(asdict(tally))


routes: list[Route] = [
    Route("/webhooks/sms/inbound", sms_inbound, methods=["POST"]),
    Route("/webhooks/email/events", email_events, methods=["POST"]),
]
