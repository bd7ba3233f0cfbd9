"""Build the MIME bytes of one e-mail, refusing header injection before anything else.

Every e-mail adapter (SMTP, file, console) goes through :func:`build_email` or
:func:`check_email_headers`, so they agree on three things:

* **Header safety.** Any value bound for a header (address, display name, sender,
  subject, extra headers) that holds CR, LF or NUL is refused with
  :class:`HeaderInjectionError`. CPython's own check arrived late (CVE-2024-6923), so
  Rapport does not rely on it: a subject such as ``"Hi\\r\\nBcc: everyone"`` must never
  reach a server.
* **No bidi controls in headers.** The bidirectional formatting characters
  (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C) are removed from the
  Subject, from display names and from extra header values: a right-to-left override
  (U+202E) in a name would otherwise reverse what the reader sees after it. Other
  invisible characters a script needs, such as the zero-width non-joiner of Persian
  names (U+200C), are kept. Imports refuse names holding these controls; this is the
  last line of defence for anything that reaches a header another way (a template's
  subject, a display name from elsewhere).
* **Stable Message-ID.** Derived from the idempotency key, so a message re-sent after a
  crash carries the same Message-ID and the receiving side can drop the duplicate.
* **Wire format.** CRLF line endings (aiosmtpd rejects bare LF) and 7-bit transfer
  encodings, so non-ASCII bodies (Persian, Chinese) go out as base64 or
  quoted-printable and need no 8BITMIME support from the server.

The bytes are written directly rather than through ``email.message.EmailMessage``:
the stdlib re-parses and re-folds every header it is given, 2-5 ms a message (most
of the e-mail dispatch time in the bench), and it turns an over-long
``List-Unsubscribe`` into encoded-words that no mailbox provider reads back as URLs.
What the writer produces, and the tests check by parsing it back with the stdlib:

* header lines folded at existing spaces to at most 78 characters where the value
  allows (RFC 5322 2.1.1); a longer unbreakable token (a URL) stays whole on its own
  line, and a line over 998 characters is refused, or for subjects and display
  names written as encoded-words instead;
* non-ASCII subjects, display names and extra header values as RFC 2047 ``B``
  encoded-words of at most 75 characters, cut between characters, never inside one;
* addresses in ASCII (domains as IDNA A-labels), except that with ``smtputf8=True``
  a mailbox whose local part is not ASCII (``josé@example.com``) is written as UTF-8
  (RFC 6532), for a server that offers SMTPUTF8 (RFC 6531); the message is then
  UTF-8 bytes, every other part unchanged;
* bodies normalised to CRLF lines: 7bit when ASCII with lines of at most 78
  characters, else quoted-printable for mostly-ASCII text and base64 (76-character
  lines) for the rest, the shorter of the two as the stdlib would choose;
* ``multipart/alternative`` (text, then HTML) with a boundary derived from the
  Message-ID and checked against the bodies.

Exceptions::

    ValueError
     └── MessageFormatError        the message cannot be turned into a safe e-mail
          ├── HeaderInjectionError  CR, LF or NUL in a header value
          └── InvalidAddressError   an address the e-mail format cannot carry
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.utils import format_datetime, parseaddr

import idna

from rapport.channels.base import OutgoingMessage
from rapport.channels.hosts import ascii_host
from rapport.channels.mime_body import text_part

__all__ = [
    "BIDI_CONTROLS",
    "DEFAULT_MESSAGE_ID_DOMAIN",
    "HeaderInjectionError",
    "InvalidAddressError",
    "MessageFormatError",
    "build_email",
    "check_email_headers",
    "check_header_value",
    "envelope_address",
    "is_plain_address",
    "message_id_for",
    "message_id_of",
    "needs_smtputf8",
    "strip_bidi_controls",
]

#: ``.invalid`` is reserved (RFC 2606), so a derived Message-ID never claims a real domain.
DEFAULT_MESSAGE_ID_DOMAIN = "rapport.invalid"

#: RFC 5322 2.1.1: lines SHOULD be at most 78 characters and MUST be at most 998.
MAX_LINE = 78
HARD_MAX_LINE = 998
#: RFC 2047 section 2: an encoded-word is at most 75 characters, and a header line
#: holding one at most 76.
_EW_MAX = 75
_EW_LINE = 76
_EW_PREFIX = "=?utf-8?b?"
_EW_SUFFIX = "?="

_FORBIDDEN = re.compile(r"[\r\n\x00]")
#: Unicode's bidirectional formatting characters: embeddings and overrides (LRE, RLE,
#: PDF, LRO, RLO), isolates (LRI, RLI, FSI, PDI) and the marks (LRM, RLM, ALM).
BIDI_CONTROLS = frozenset(
    [
        *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A)),
        "\u200e",
        "\u200f",
        "\u061c",
    ]
)
_NO_BIDI = str.maketrans(dict.fromkeys(BIDI_CONTROLS))
_ANY_BIDI = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
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


def strip_bidi_controls(text: str) -> str:
    """``text`` without the :data:`BIDI_CONTROLS`; every other character is kept.

    >>> strip_bidi_controls("\u202eexe.pdf") == "exe.pdf"
    True
    """
    # One scan for any of them first: translate() builds a new string, per character.
    return text.translate(_NO_BIDI) if _ANY_BIDI.search(text) else text


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
    return f"<{digest}@{ascii_host(domain)}>"  # an international domain as its A-label


def message_id_of(message: OutgoingMessage, domain: str = DEFAULT_MESSAGE_ID_DOMAIN) -> str:
    """The Message-ID the e-mail will carry: the caller's, else one derived from the key."""
    if message.message_id:
        mid = message.message_id.strip()
        return mid if mid.startswith("<") else f"<{mid}>"
    return message_id_for(message.idempotency_key, domain)


@functools.lru_cache(maxsize=64)
def _parsed_sender(sender: str) -> tuple[str, str]:
    """``parseaddr`` of a sender value: the few configured senders are parsed once.

    ``parseaddr`` costs ~0.1 ms since its CVE-2023-27043 hardening (it parses twice).
    """
    return parseaddr(sender)


def envelope_address(sender: str, *, smtputf8: bool = False) -> str:
    """The bare address of a ``From`` value such as ``"Shop <shop@example.com>"``: ASCII,
    or with ``smtputf8`` possibly a UTF-8 local part (see :func:`needs_smtputf8`)."""
    if _PLAIN_ADDRESS.fullmatch(sender):  # a bare address: nothing to parse
        return sender
    return _addr_spec("From", _parsed_sender(sender)[1] or sender, smtputf8)


def needs_smtputf8(address: str) -> bool:
    """Whether an envelope address (from :func:`envelope_address`) can travel only with
    SMTPUTF8: its local part is not ASCII (a domain always travels as an A-label)."""
    return not address.isascii()


#: A dot-atom local part and a host name domain: what nearly every address is. Anything
#: else (quoted local parts, domain literals, stray spaces) goes through the stdlib parser.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)


#: RFC 6531's dot-atom local part: atext plus any non-ASCII character (which
#: :func:`_addr_spec` then requires to be printable: no controls, no bidi overrides,
#: no spaces), before an ASCII host name.
_UTF8_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff-]+"
    r"(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)


def is_plain_address(address: str) -> bool:
    """Whether ``address`` is a bare ASCII dot-atom ``local@host.name``: nothing to quote,
    nothing that could break out of an SMTP command line."""
    return _PLAIN_ADDRESS.fullmatch(address) is not None


def _addr_spec(header: str, addr_spec: str, smtputf8: bool = False) -> str:
    """``addr_spec`` as it goes on the wire (IDNA domain), or :class:`InvalidAddressError`.

    A non-ASCII domain always travels as punycode (RFC 2047-encoding it, as the stdlib
    would, gives something no server understands), by IDNA 2008 with the UTS 46
    mapping, as email-validator checked it at import: Python's own ``idna`` codec is
    IDNA 2003, which turns ``straße.de`` into ``strasse.de``, another domain. A
    non-ASCII local part travels only with ``smtputf8``, as a dot-atom of printable
    characters (no quoting, no bidi controls or other invisible formatting).
    """
    if _PLAIN_ADDRESS.fullmatch(addr_spec):
        return addr_spec
    local, at, domain = addr_spec.rpartition("@")
    try:
        if at and not domain.isascii():
            addr_spec = f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
        if _PLAIN_ADDRESS.fullmatch(addr_spec):
            return addr_spec
        if smtputf8 and not local.isascii():
            if local.isprintable() and _UTF8_ADDRESS.fullmatch(addr_spec):
                return addr_spec
            raise InvalidAddressError(header)
        parsed = Address(addr_spec=addr_spec).addr_spec
    except (ValueError, IndexError, UnicodeError, HeaderParseError) as exc:
        raise InvalidAddressError(header) from exc
    if not parsed.isascii() or not parsed.isprintable() or "@" not in parsed:
        raise InvalidAddressError(header)
    return parsed


#: RFC 5322 specials: a display name holding one must be a quoted-string.
_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')


def _needs_encoding(text: str) -> bool:
    """Whether ``text`` must travel as encoded-words: anything but printable ASCII and
    spaces, or text that merely looks like an encoded-word ("=?") and would be decoded."""
    return not (text.isascii() and text.isprintable()) or "=?" in text


def _encoded_words(text: str, first_room: int) -> Iterator[str]:
    """``text`` as RFC 2047 ``B`` encoded-words, split between characters.

    The first word fits in ``first_room`` characters (what is left of the header's first
    line); the others fit a continuation line. UTF-8 is cut only before a lead byte, so
    every word decodes on its own (RFC 2047 section 5), and after a space where one is:
    readers that keep the space between encoded-words (the stdlib's address parser)
    then show whole words, not 'طباطبایی‌ن ژاد'.
    """
    data = text.encode("utf-8")
    overhead = len(_EW_PREFIX) + len(_EW_SUFFIX)
    # Continuation lines are " " + word: 75 characters keeps them within 78.
    room = first_room if first_room >= overhead + 8 else _EW_MAX
    start = 0
    while True:
        size = (min(room, _EW_MAX) - overhead) // 4 * 3
        end = min(start + size, len(data))
        while end < len(data) and end > start and data[end] & 0xC0 == 0x80:
            end -= 1  # a continuation byte: back up to the character's start
        space = data.rfind(b" ", start, end) if end < len(data) else -1
        if space > start + (end - start) // 3:  # cut after a space: see the docstring
            end = space + 1
        yield _EW_PREFIX + base64.b64encode(data[start:end]).decode("ascii") + _EW_SUFFIX
        start = end
        if start >= len(data):
            return
        room = _EW_MAX


def _fold(name: str, tokens: Iterable[str], limit: int = MAX_LINE) -> str:
    """``Name: value`` with the tokens joined by spaces, folded before a token where the
    line would pass ``limit`` (:data:`MAX_LINE`; 76 where encoded-words are).

    Folding only turns an existing space into CRLF + space, so unfolding gives back the
    exact value. A token longer than a line stays whole; a line over
    :data:`HARD_MAX_LINE` cannot be sent and is refused.
    """
    lines: list[str] = []
    line = name + ":"
    first = True
    for token in tokens:
        if not first and token and len(line) + 1 + len(token) > limit:
            lines.append(line)
            line = " " + token
        else:
            line += " " + token
        first = False
    lines.append(line)
    if any(len(folded) > HARD_MAX_LINE for folded in lines):
        raise MessageFormatError(f"header {name!r} has a line over {HARD_MAX_LINE} characters")
    return "\r\n".join(lines)


def _text_header(name: str, value: str) -> str:
    """An unstructured header (Subject, extra headers): plain when printable ASCII whose
    lines fit, else encoded-words; bidi controls removed."""
    value = strip_bidi_controls(value)
    if not _needs_encoding(value):
        if len(name) + 2 + len(value) <= MAX_LINE:
            return f"{name}: {value}"  # fits on one line: what _fold would write
        try:
            return _fold(name, value.split(" "))
        except MessageFormatError:
            if name.lower() != "subject":
                raise
    return _fold(name, _encoded_words(value, _EW_LINE - len(name) - 2), _EW_LINE)


def _address_header(name: str, display_name: str, addr_spec: str) -> str:
    """``Name: display name <addr>``, the name quoted or encoded as it needs; bidi
    controls removed from the name."""
    display_name = strip_bidi_controls(display_name)
    if not display_name:
        return _fold(name, (addr_spec,))
    angle = f"<{addr_spec}>"
    if len(name) + 3 + len(display_name) + len(angle) <= MAX_LINE and not _needs_encoding(
        display_name
    ):
        display_name = _phrase(display_name)
        if len(name) + 3 + len(display_name) + len(angle) <= MAX_LINE:
            return f"{name}: {display_name} {angle}"  # fits on one line, as _fold writes it
    if not _needs_encoding(display_name):
        display_name = _phrase(display_name)
        try:
            return _fold(name, [*display_name.split(" "), angle])
        except MessageFormatError:
            pass
    words = _encoded_words(display_name, _EW_LINE - len(name) - 2)
    return _fold(name, [*words, angle], _EW_LINE)


def _phrase(display_name: str) -> str:
    """A printable ASCII display name as a phrase: quoted when it holds specials, or
    spaces a phrase would not keep."""
    if (
        _SPECIALS.search(display_name)
        or display_name != display_name.strip()
        or "  " in display_name
    ):
        escaped = display_name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return display_name


@functools.lru_cache(maxsize=64)
def _from_header(sender: str, smtputf8: bool = False) -> str:
    """The ``From`` header line for a sender value; the few senders are parsed once."""
    display_name, addr = _parsed_sender(sender)
    return _address_header("From", display_name, _addr_spec("From", addr, smtputf8))


@functools.lru_cache(maxsize=4)
def _date_header(second: int) -> str:
    """The ``Date`` line for a whole second since the epoch: the same for every message
    sent within it (``format_datetime`` writes whole seconds)."""
    return f"Date: {format_datetime(datetime.fromtimestamp(second, UTC))}"


def _boundary(message_id: str, bodies: tuple[str, ...]) -> str:
    """A multipart boundary from the Message-ID, changed until no body contains it.

    "=_" cannot occur in base64 or quoted-printable text, so only a 7bit body could
    ever hold it, and then only by copying this very value.
    """
    digest = hashlib.sha256(message_id.encode("utf-8")).hexdigest()
    for attempt in range(9):
        boundary = f"=_{digest[attempt * 4 : attempt * 4 + 28]}"
        if not any(boundary in body for body in bodies):
            return boundary
    raise MessageFormatError("no multipart boundary is absent from the body")


def build_email(
    message: OutgoingMessage,
    default_sender: str,
    *,
    message_id_domain: str = DEFAULT_MESSAGE_ID_DOMAIN,
    date: datetime | None = None,
    smtputf8: bool = False,
) -> bytes:
    """Serialize ``message`` as CRLF MIME bytes: text part, plus an HTML alternative.

    ``smtputf8`` lets a sender or recipient address have a non-ASCII local part,
    written as UTF-8 (RFC 6532): only for a transport that negotiates SMTPUTF8, or a
    file. Without it such an address is an :class:`InvalidAddressError`.

    Raises :class:`HeaderInjectionError` before anything is built if a header value is
    unsafe, :class:`InvalidAddressError` for an address e-mail cannot carry, and
    :class:`MessageFormatError` for a header that cannot be written within the line
    limits.
    """
    check_email_headers(message, default_sender)
    message_id = message_id_of(message, message_id_domain)
    if _needs_encoding(message_id):
        raise MessageFormatError("the Message-ID must be printable ASCII")
    lines = [
        _from_header(message.sender or default_sender, smtputf8),
        _address_header("To", message.to_name or "", _addr_spec("To", message.to, smtputf8)),
    ]
    if message.subject is not None:
        lines.append(_text_header("Subject", message.subject))
    if len(message_id) <= MAX_LINE - 12:
        lines.append(f"Message-ID: {message_id}")  # fits on one line, as _fold writes it
    else:
        lines.append(_fold("Message-ID", (message_id,)))
    if date is None:
        lines.append(_date_header(int(time.time())))
    else:
        lines.append(f"Date: {format_datetime(date)}")
    lines.extend(_text_header(name, value) for name, value in message.headers.items())
    lines.append("MIME-Version: 1.0")
    head = "\r\n".join(lines) + "\r\n"
    text_headers, text_body = text_part("text/plain", message.text)
    if message.html is None:
        wire = head + text_headers + "\r\n" + text_body
    else:
        html_headers, html_body = text_part("text/html", message.html)
        boundary = _boundary(message_id, (text_body, html_body))
        wire = (
            f'{head}Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
            f"\r\n--{boundary}\r\n{text_headers}\r\n{text_body}"
            f"\r\n--{boundary}\r\n{html_headers}\r\n{html_body}"
            f"\r\n--{boundary}--\r\n"
        )
    # Only addresses may be non-ASCII, and only with smtputf8 (RFC 6532).
    return wire.encode("utf-8" if smtputf8 else "ascii")
