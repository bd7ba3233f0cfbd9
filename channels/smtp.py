"""SMTP e-mail adapter on aiosmtplib, keeping one connection open across sends.

A new connection per message is 2x slower on loopback and 6x with TLS, so the adapter
connects once, reuses the connection, and reconnects only when it has dropped. Sends
through one adapter are serialized on that connection; run several adapters for
parallel connections.

Configuration is one URL::

    smtp://host:25                      plain; STARTTLS if the server offers it
    smtp://user:secret@host:587?starttls=1   STARTTLS required, then AUTH
    smtp://host?starttls=0              never STARTTLS (e.g. a local sink)
    smtps://user:secret@host:465        implicit TLS

Credentials go only over TLS: a server without STARTTLS fails the connection before
AUTH (:class:`PlaintextAuthRefused`, naming the option), and a user with ``?starttls=0``
is refused at configuration, unless the URL adds ``insecure_auth=1`` (a trusted network).

Other options:

``sender``               default ``From`` (``"Shop <shop@example.com>"``)
``timeout``              seconds for connecting and for each SMTP command (30)
``message_id_domain``    right-hand side of derived Message-IDs
``tls_verify``           false: accept any certificate (local test servers only)
``ca_file``              PEM file of the CAs to trust instead of the system's
``smtputf8``             true: the server offers SMTPUTF8 (RFC 6531), so addresses
                         whose local part is not ASCII (``josé@example.com``) are
                         imported and sent with it; false (default): imports refuse
                         them and such a message is refused before connecting
``dkim_selector``, ``dkim_domain``, ``dkim_private_key_path``
                         sign every message with DKIM (all three, or none); see
                         :mod:`rapport.channels.dkim_signer`

``repr()`` shows the options with the URL's password as ``***``.

Outcomes (all decided in :func:`smtp_error_result`):

* 4xx replies, connection errors, timeouts, and any failure while connecting
  (greeting, EHLO, STARTTLS, AUTH: they say nothing about this message) -> transient.
  A failure while connecting is also ``reached=False``: no MAIL FROM was sent, so the
  server never saw the message and the try is not counted as an attempt. Once the mail
  transaction has begun, a reply to MAIL, RCPT or DATA, a timeout waiting for one or a
  dropped connection is ``reached=True``; the last two are also ``unanswered=True`` (the
  server may have taken the message: a channel's next provider is not tried at once).
* 5xx refusing the recipient as a bad mailbox (550/551/553, or enhanced status
  5.1.x / 5.2.1) -> permanent with ``suppress=True``; other 5xx -> permanent.
* A message that cannot be built safely (header injection, bad address) -> permanent,
  before anything reaches the server.
* A message whose address needs SMTPUTF8 when the server does not offer it ->
  permanent, saying so, before MAIL FROM (with ``smtputf8: false`` before connecting).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Final, Self

import aiosmtplib

from rapport.channels.base import Channel, Outcome, OutgoingMessage, SendResult, redact_reply
from rapport.channels.dkim_signer import DKIMSigner, dkim_name_problem
from rapport.channels.mime import (
    DEFAULT_MESSAGE_ID_DOMAIN,
    MessageFormatError,
    build_email,
    check_header_value,
    envelope_address,
    message_id_of,
    needs_smtputf8,
)
from rapport.channels.options import ENV_SUFFIX, OptionProblem
from rapport.channels.smtp_url import SMTPServer, SMTPURLError, parse_smtp_url
from rapport.channels.smtp_wire import Wire, mail_transaction

__all__ = [
    "PlaintextAuthRefused",
    "SMTPChannel",
    "SMTPServer",
    "SMTPURLError",
    "parse_smtp_url",
    "smtp_error_result",
    "tls_context",
]

logger = logging.getLogger(__name__)

DEFAULT_SENDER: Final = "Rapport <rapport@localhost>"

#: Basic codes that refuse the mailbox itself (RFC 5321 section 4.2.3).
_BAD_MAILBOX_CODES: Final = frozenset({550, 551, 553})
#: Enhanced status (RFC 3463) at the start of a reply text, e.g. ``5.1.1``.
_ENHANCED = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_DKIM: Final = ("dkim_selector", "dkim_domain", "dkim_private_key_path")
_DKIM_TOGETHER: Final = f"DKIM needs {', '.join(_DKIM[:2])} and {_DKIM[2]} together"


class PlaintextAuthRefused(aiosmtplib.SMTPException):
    """The URL has credentials, the connection is not encrypted and the URL does not say
    ``insecure_auth=1``: AUTH is not sent (a failure while connecting: transient)."""

    def __init__(self) -> None:
        super().__init__(
            "the server offers no STARTTLS, and the credentials in the SMTP URL are never "
            "sent unencrypted: use smtps:// or a server with STARTTLS, or add "
            "insecure_auth=1 to the URL to send them anyway (a network you trust only)"
        )


def _redact(text: str) -> str:
    """Reply text without addresses, numbers or tokens (the channel redacts its own
    credentials too, as it does every adapter's: :meth:`Channel.redact_reply`)."""
    return redact_reply(text).strip()


def _is_bad_mailbox(code: int, text: str) -> bool:
    """Whether a 5xx recipient refusal says the address itself is bad (a hard bounce).

    The enhanced status wins when present: 550 is also used for policy refusals
    (``5.7.1``), which say nothing about the mailbox and must not suppress it.
    """
    if enhanced := _ENHANCED.match(text):
        _, subject, detail = enhanced.groups()
        return subject == "1" or (subject, detail) == ("2", "1")
    return code in _BAD_MAILBOX_CODES


def _is_full(code: int, text: str) -> bool:
    """Whether a 5xx recipient refusal says a mailbox or a limit is full, which passes.

    RFC 5321 (4.5.3.1.10): a client SHOULD treat 552 to RCPT as the temporary 452 (RFC
    821 listed 552 for "too many recipients"); and a full mailbox (enhanced status
    ``5.2.2``, RFC 3463) is emptied by its owner. Retried like any transient failure, so
    ``dispatch.max_attempts`` still ends a mailbox that stays full."""
    enhanced = _ENHANCED.match(text)
    return code == 552 or (enhanced is not None and enhanced.groups()[1:] == ("2", "2"))


def smtp_error_result(exc: BaseException, *, connecting: bool = False) -> SendResult | None:
    """Translate an error raised while sending into an outcome; None if it is not ours.

    This is the only place that knows aiosmtplib's exceptions. ``connecting`` marks
    errors raised before the mail transaction began (greeting, EHLO, STARTTLS, AUTH),
    which are never the message's fault and so are always transient, and
    ``reached=False``: the server never saw the message.
    """
    result = _error_result(exc, connecting=connecting)
    if connecting and result is not None and result.outcome is Outcome.TRANSIENT:
        return replace(result, reached=False, unanswered=False)
    return result


def _error_result(exc: BaseException, *, connecting: bool) -> SendResult | None:
    """:func:`smtp_error_result` but for ``reached``."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        if not exc.recipients:
            return SendResult.transient("recipient refused without a reply")
        return smtp_error_result(exc.recipients[0], connecting=connecting)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        reason = f"{exc.code} {_redact(exc.message)}"
        if connecting or exc.code < 500:
            return SendResult.transient(reason)
        recipient = isinstance(exc, aiosmtplib.SMTPRecipientRefused)
        if recipient and _is_full(exc.code, exc.message):
            return SendResult.transient(reason)
        suppress = recipient and _is_bad_mailbox(exc.code, exc.message)
        return SendResult.permanent(reason, suppress=suppress)
    if isinstance(exc, TimeoutError):  # includes aiosmtplib.SMTPTimeoutError
        return SendResult.transient("timed out", unanswered=True)
    if isinstance(exc, OSError):  # refused, reset, disconnected, TLS handshake
        return SendResult.transient(f"connection failed: {type(exc).__name__}", unanswered=True)
    if isinstance(exc, aiosmtplib.SMTPException):  # e.g. SMTPNotSupported
        if connecting:
            return SendResult.transient(f"server setup failed: {_redact(str(exc))}")
        return SendResult.permanent(f"not supported by the server: {_redact(str(exc))}")
    if isinstance(exc, MessageFormatError):
        return SendResult.permanent(str(exc))
    return None


def tls_context(verify: bool = True, ca_file: str | None = None) -> ssl.SSLContext | None:
    """The TLS context for ``tls_verify``/``ca_file``; None for aiosmtplib's default
    (the system's CAs, certificate and host name checked)."""
    if verify and ca_file is None:
        return None
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load ca_file {ca_file!r}: {exc}") from exc
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SMTPChannel(Channel):
    """Send e-mail over one reused SMTP connection."""

    name = "smtp"
    kinds = frozenset({"email"})
    max_body_chars = None
    supports_html = True
    rate_per_second = None
    #: Round trips kept in flight when configuration sets none (docs/configuration.md).
    concurrency = 16

    def __init__(
        self,
        url: str,
        sender: str = DEFAULT_SENDER,
        timeout: float = 30,
        message_id_domain: str | None = None,
        tls_verify: bool = True,
        ca_file: str | os.PathLike[str] | None = None,
        dkim_selector: str | None = None,
        dkim_domain: str | None = None,
        dkim_private_key_path: str | os.PathLike[str] | None = None,
        smtputf8: bool = False,
    ) -> None:
        self.url = url
        self.smtputf8 = bool(smtputf8)
        self.server = parse_smtp_url(url)
        check_header_value("From", sender, "sender")
        self.sender = sender
        self.timeout = timeout
        self.message_id_domain = message_id_domain or DEFAULT_MESSAGE_ID_DOMAIN
        self.tls_verify = bool(tls_verify)
        self.ca_file = os.fspath(ca_file) if ca_file is not None else None
        self._tls_context = tls_context(self.tls_verify, self.ca_file)
        dkim = (dkim_selector, dkim_domain, dkim_private_key_path)
        self.dkim: DKIMSigner | None = None
        if any(value is not None for value in dkim):
            if dkim_selector is None or dkim_domain is None or dkim_private_key_path is None:
                raise ValueError(_DKIM_TOGETHER)
            self.dkim = DKIMSigner.from_file(dkim_selector, dkim_domain, dkim_private_key_path)
        self.dkim_private_key_path = (
            os.fspath(dkim_private_key_path) if dkim_private_key_path is not None else None
        )
        self._client: aiosmtplib.SMTP | None = None
        self._wire: Wire | None = None
        # One connection carries one transaction at a time.
        self._lock = asyncio.Lock()

    @classmethod
    def value_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        """The URL as :func:`parse_smtp_url` reads it and the sender as a header."""
        problems = []
        if isinstance(url := options.get("url"), str):
            try:
                parse_smtp_url(url)
            except SMTPURLError as exc:
                problems.append(OptionProblem("url", str(exc)))
        if isinstance(sender := options.get("sender"), str):
            try:
                check_header_value("From", sender, "sender")
            except ValueError as exc:
                problems.append(OptionProblem("sender", str(exc)))
        for key in ("dkim_selector", "dkim_domain"):  # else every dispatcher stopped
            if isinstance(name := options.get(key), str) and (why := dkim_name_problem(key, name)):
                problems.append(OptionProblem(key, why))
        dkim = [key for key in _DKIM if key in options or key + ENV_SUFFIX in options]
        if dkim and len(dkim) < len(_DKIM):  # else every dispatcher stopped at its start
            problems.append(OptionProblem(None, _DKIM_TOGETHER))
        return problems

    @classmethod
    def from_options(cls, options: Mapping[str, Any], base_dir: Path) -> Self:
        """Resolve relative ``ca_file`` and ``dkim_private_key_path`` against ``base_dir``."""
        options = dict(options)
        for key in ("ca_file", "dkim_private_key_path"):
            if options.get(key) is not None:
                options[key] = Path(base_dir) / Path(options[key]).expanduser()
        return cls(**options)

    def options(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "sender": self.sender,
            "timeout": self.timeout,
            "message_id_domain": self.message_id_domain,
            "tls_verify": self.tls_verify,
            "ca_file": self.ca_file,
            "dkim_selector": self.dkim.selector if self.dkim else None,
            "dkim_domain": self.dkim.domain if self.dkim else None,
            "dkim_private_key_path": self.dkim_private_key_path,
            "smtputf8": self.smtputf8,
        }

    @classmethod
    def carries_utf8_mailboxes(cls, options: Mapping[str, Any]) -> bool:
        """Whether addresses with a non-ASCII local part may be imported for this channel:
        only when the operator says the server offers SMTPUTF8 (``smtputf8: true``)."""
        return options.get("smtputf8") is True

    async def send(self, message: OutgoingMessage) -> SendResult:
        if refused := self.unsupported(message):
            return refused
        try:
            data = build_email(
                message,
                self.sender,
                message_id_domain=self.message_id_domain,
                smtputf8=self.smtputf8,
            )
            mail_from = envelope_address(message.sender or self.sender, smtputf8=self.smtputf8)
            rcpt_to = envelope_address(message.to, smtputf8=self.smtputf8)
            utf8 = needs_smtputf8(mail_from) or needs_smtputf8(rcpt_to)
            if self.dkim is not None:
                # ~8 ms of pure-Python RSA: off the event loop.
                data = await asyncio.to_thread(self.dkim.sign, data)
        except MessageFormatError as exc:
            logger.warning(
                "smtp refused a message before sending: %s",
                exc,
                extra={
                    "idempotency_key": message.idempotency_key,
                    "customer_id": message.customer_id,
                    "campaign": message.campaign,
                },
            )
            return SendResult.permanent(str(exc))
        message_id = message_id_of(message, self.message_id_domain)
        async with self._lock:
            result = await self._deliver(mail_from, rcpt_to, data, utf8)
        result = result or SendResult.accepted(message_id)
        return result

    async def _deliver(
        self, mail_from: str, rcpt_to: str, data: bytes, utf8: bool = False
    ) -> SendResult | None:
        """Run one mail transaction; None when accepted.

        A connection the server closed while idle is only noticed on use, so a
        disconnect on a *reused* connection before the content went out is retried once
        on a fresh one; after it, the server may have taken the message: unanswered,
        retried later (same Message-ID), never sent again at once.
        """
        for attempt in (1, 2):
            reused = self._wire is not None and self._wire.is_connected
            try:
                client, wire = await self._connect()
            except Exception as exc:
                await self._drop()
                if (result := smtp_error_result(exc, connecting=True)) is None:
                    raise
                return result
            try:
                await mail_transaction(wire, client, mail_from, rcpt_to, data, smtputf8=utf8)
                return None
            except aiosmtplib.SMTPServerDisconnected:
                await self._drop()
                if reused and attempt == 1 and not wire.content_sent:
                    logger.info("smtp connection to %s dropped; reconnecting", self.server.host)
                    continue
                return SendResult.transient("server disconnected", unanswered=True)
            except Exception as exc:
                if not isinstance(exc, aiosmtplib.SMTPResponseException | MessageFormatError):
                    await self._drop()  # state unknown after a timeout or socket error
                if (result := smtp_error_result(exc)) is None:
                    raise
                return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _connect(self) -> tuple[aiosmtplib.SMTP, Wire]:
        """The open connection, or a new one (greeting, EHLO, STARTTLS, AUTH by
        aiosmtplib; then its transport goes to a :class:`Wire` for the transactions)."""
        if self._client is not None and self._wire is not None and self._wire.is_connected:
            return self._client, self._wire
        client = aiosmtplib.SMTP(
            hostname=self.server.host,
            port=self.server.port,
            use_tls=self.server.use_tls,
            start_tls=self.server.start_tls,
            timeout=self.timeout,
            tls_context=self._tls_context,
        )
        await client.connect()
        if client.is_ehlo_or_helo_needed:  # greeted once here, not on every transaction
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                if not client.is_connected:
                    raise
                await client.helo()
        if self.server.username is not None:  # AUTH here, only once encrypted
            try:
                encrypted = client.get_transport_info("sslcontext") is not None
                if not encrypted and not self.server.insecure_auth:
                    raise PlaintextAuthRefused()
                await client.login(self.server.username, self.server.password or "")
            except BaseException:
                client.close()
                raise
        assert client.transport is not None
        self._client, self._wire = client, Wire(client.transport, self.timeout)
        logger.debug("smtp connected to %s:%s", self.server.host, self.server.port)
        return client, self._wire

    async def _drop(self) -> None:
        """Forget the connection without talking to the server."""
        client, self._client = self._client, None
        wire, self._wire = self._wire, None
        if wire is not None:
            wire.close()
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Say QUIT politely; close the socket regardless."""
        async with self._lock:
            client, self._client = self._client, None
            wire, self._wire = self._wire, None
            if wire is not None and wire.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                    await wire.command(b"QUIT\r\n")
            if wire is not None:
                wire.close()
            if client is not None:
                client.close()
