"""Build the MIME bytes of one e-mail, refusing header injection before anything else.

Every e-mail adapter (SMTP, file, console) goes through :func:`build_email` or
:func:`check_email_headers`, so they agree on three things:

* **Header safety.** Any value bound for a header (address, display name, sender,
  subject, extra headers) that holds CR, LF or NUL is refused with
  :class:`HeaderInjectionError`. CPython's own check arrived late (CVE-2024-6923), so
  Rapport does not rely on it: a subject such as ``"Hi\\r\\nBcc: everyone"`` must never
  reach a server.
* **Stable Message-ID.** Derived from the idempotency key, so a message re-sent after a
  crash carries the same Message-ID and the receiving side can drop the duplicate.
* **Wire format.** ``email.policy.SMTP`` (CRLF line endings; aiosmtpd rejects bare LF)
  with 7-bit transfer encodings, so non-ASCII bodies (Persian, Chinese) go out as
  base64/quoted-printable and need no 8BITMIME support from the server.

Exceptions::

    ValueError
     └── MessageFormatError        the message cannot be turned into a safe e-mail
          ├── HeaderInjectionError  CR, LF or NUL in a header value
          └── InvalidAddressError   an address the e-mail format cannot carry
"""

from __future__ import annotations

import email.policy
import hashlib
import re
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from rapport.channels.base import OutgoingMessage

__all__ = [
    "DEFAULT_MESSAGE_ID_DOMAIN",
    "HeaderInjectionError",
    "InvalidAddressError",
    "MessageFormatError",
    "build_email",
    "check_email_headers",
    "check_header_value",
    "envelope_address",
    "message_id_for",
    "message_id_of",
]

#: ``.invalid`` is reserved (RFC 2606), so a derived Message-ID never claims a real domain.
DEFAULT_MESSAGE_ID_DOMAIN = "rapport.invalid"

#: SMTP line endings, and 7-bit transfer encodings so any server can relay the body.
POLICY = email.policy.SMTP.clone(cte_type="7bit")

_FORBIDDEN = re.compile(r"[\r\n\x00]")
#: RFC 5322 field names: printable ASCII except space and colon.
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")
#: Headers :func:`build_email` writes itself; extra headers may not replace them.
_RESERVED = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "message-id",
        "date",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)


class MessageFormatError(ValueError):
    """The message cannot be turned into a safe e-mail; sending it again will not help."""


class HeaderInjectionError(MessageFormatError):
    """A header value holds CR, LF or NUL and could smuggle extra headers or recipients.

    The message names the header only, never the value: values are personal data.
    """

    def __init__(self, header: str, field: str | None = None) -> None:
        where = f"header {header!r}" + (f" (field {field!r})" if field else "")
        super().__init__(f"{where} contains CR, LF or NUL")
        self.header = header
        #: The :class:`OutgoingMessage` field (or adapter option) the value came from.
        self.field = field


class InvalidAddressError(MessageFormatError):
    """An address (recipient or sender) that an e-mail header cannot carry."""

    def __init__(self, header: str) -> None:
        super().__init__(f"header {header!r} holds an address that cannot be sent")
        self.header = header


def check_header_value(name: str, value: str, field: str | None = None) -> None:
    """Raise :class:`HeaderInjectionError` if ``value`` (bound for header ``name``) is unsafe.

    ``field`` names where the value came from (``"to_name"``, ``"subject"``), so the
    reason points at it; the value itself is never repeated.
    """
    if _FORBIDDEN.search(value):
        raise HeaderInjectionError(name, field)


def check_email_headers(message: OutgoingMessage, default_sender: str) -> None:
    """Check every value that would become a header, before any e-mail is built or sent.

    Extra header names are checked too: a name with a colon or a space would let the
    value spill into another field, and the core headers may not be replaced.
    """
    check_header_value("To", message.to, "to")
    if message.to_name is not None:
        check_header_value("To", message.to_name, "to_name")
    if message.sender is not None:
        check_header_value("From", message.sender, "sender")
    else:
        check_header_value("From", default_sender, "sender")
    if message.subject is not None:
        check_header_value("Subject", message.subject, "subject")
    if message.message_id is not None:
        check_header_value("Message-ID", message.message_id, "message_id")
    for name, value in message.headers.items():
        if not _HEADER_NAME.match(name):
            raise HeaderInjectionError(name, "headers")
        if name.lower() in _RESERVED:
            raise MessageFormatError(f"extra header {name!r} may not replace a core header")
        check_header_value(name, value, "headers")


def message_id_for(idempotency_key: str, domain: str = DEFAULT_MESSAGE_ID_DOMAIN) -> str:
    """The Message-ID for an idempotency key: the same key always gives the same id.

    >>> message_id_for("c1:birthday:2025:email")
    '<4f1ed57c37cf162c768a946a469b66e7@rapport.invalid>'
    """
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def message_id_of(message: OutgoingMessage, domain: str = DEFAULT_MESSAGE_ID_DOMAIN) -> str:
    """The Message-ID the e-mail will carry: the caller's, else one derived from the key."""
    if message.message_id:
        mid = message.message_id.strip()
        return mid if mid.startswith("<") else f"<{mid}>"
    return message_id_for(message.idempotency_key, domain)


def envelope_address(sender: str) -> str:
    """The bare ASCII address of a ``From`` value such as ``"Shop <shop@example.com>"``."""
    return _address("From", "", parseaddr(sender)[1] or sender).addr_spec


def _address(header: str, display_name: str, addr_spec: str) -> Address:
    """An :class:`Address` with an IDNA (punycode) domain, or :class:`InvalidAddressError`.

    Without SMTPUTF8 a non-ASCII domain must travel as punycode (the stdlib would
    otherwise RFC 2047-encode it, which no server understands); a non-ASCII local part
    cannot travel at all.
    """
    local, at, domain = addr_spec.rpartition("@")
    try:
        if at and not domain.isascii():
            addr_spec = f"{local}@{domain.encode('idna').decode('ascii')}"
        return Address(display_name=display_name, addr_spec=addr_spec)
    except (ValueError, IndexError, UnicodeError, HeaderParseError) as exc:
        raise InvalidAddressError(header) from exc


def build_email(
    message: OutgoingMessage,
    default_sender: str,
    *,
    message_id_domain: str = DEFAULT_MESSAGE_ID_DOMAIN,
    date: datetime | None = None,
) -> bytes:
    """Serialize ``message`` as CRLF MIME bytes: text part, plus an HTML alternative.

    Raises :class:`HeaderInjectionError` before anything is built if a header value is
    unsafe, and :class:`InvalidAddressError` for an address e-mail cannot carry.
    """
    check_email_headers(message, default_sender)
    msg = EmailMessage(policy=POLICY)
    sender_name, sender_addr = parseaddr(message.sender or default_sender)
    msg["From"] = _address("From", sender_name, sender_addr)
    msg["To"] = _address("To", message.to_name or "", message.to)
    if message.subject is not None:
        msg["Subject"] = message.subject
    msg["Message-ID"] = message_id_of(message, message_id_domain)
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    for name, value in message.headers.items():
        msg[name] = value
    msg.set_content(message.text)
    if message.html is not None:
        msg.add_alternative(message.html, subtype="html")
    try:
        return msg.as_bytes(policy=POLICY)
    except ValueError as exc:  # a defect the stdlib only notices while serializing
        raise MessageFormatError("the e-mail cannot be serialized") from exc
