"""Mail transactions on an SMTP connection that aiosmtplib has set up, pipelined when offered.

aiosmtplib connects, greets, negotiates TLS and authenticates (:mod:`.smtp`); each mail
transaction then costs it about 240 us of Python and four round trips (MAIL, RCPT, DATA,
the content), most of a dispatcher's time on a fast server. Once a connection is ready
its transport is handed to :class:`Wire`, which writes the commands itself and reads
the replies in order:

* with ``PIPELINING`` (RFC 2920) offered by the server, MAIL, RCPT and DATA go out in
  one write and their three replies are read together; the content follows the 354, so
  a message takes two round trips. Without it, each command waits for its reply.
* a refusal raises aiosmtplib's own exceptions (``SMTPSenderRefused``,
  ``SMTPRecipientRefused``, ``SMTPDataError``), and a lost connection or a reply that
  does not come within the timeout ``SMTPServerDisconnected`` or
  ``SMTPReadTimeoutError``, so the adapter's error mapping reads them unchanged.
* after MAIL or RCPT were refused in a pipelined group, a DATA the server accepted
  anyway is ended with an empty content (".") and the transaction reset, as RFC 2920
  section 3.1 asks: nothing of the message is sent.
* the content is sent as built (:func:`rapport.channels.mime.build_email` writes CRLF
  lines), with any bare CR or LF made CRLF and lines starting with "." doubled
  (RFC 5321 4.5.2), as aiosmtplib's DATA does.

Addresses are written ``<address>``: a plain one as it is, anything else after
aiosmtplib's own address check, which refuses what could end the command line (CR, LF,
control characters).
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from typing import Any

import aiosmtplib
from aiosmtplib.email import quote_address
from aiosmtplib.response import SMTPResponse

from rapport.channels.mime import is_plain_address

#: A reply longer than this (all its lines) is refused: a server cannot make us buffer
#: without bound.
MAX_REPLY_BYTES = 32 * 1024
#: How early a timer may run without its deadline counting as not yet passed.
_EARLY = 0.001
_LINE_ENDINGS = re.compile(rb"\r\n|\n|\r(?!\n)")


def data_payload(message: bytes) -> bytes:
    """``message`` as the DATA content goes on the wire: CRLF lines, leading dots
    doubled, then the terminating ``.`` line."""
    lines = message.count(b"\n")  # three counts: faster than any regex over 5 KB
    if lines != message.count(b"\r") or lines != message.count(b"\r\n"):
        message = _LINE_ENDINGS.sub(b"\r\n", message)
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    if message.startswith(b"."):
        message = b"." + message
    return message.replace(b"\r\n.", b"\r\n..") + b".\r\n"


def envelope_command(verb: bytes, address: str, options: list[bytes], utf8: bool) -> bytes:
    """``MAIL FROM:<a> options`` or ``RCPT TO:<a>``; ValueError for an address that
    cannot go on a command line.

    A plain address (dot-atom local part, host name) is written as it is: aiosmtplib's
    check parses it with ``email.utils.parseaddr``, about 0.15 ms, to find what
    :func:`rapport.channels.mime.envelope_address` has already found."""
    if is_plain_address(address):
        quoted = b"<%s>" % address.encode("ascii")
    else:
        quoted = quote_address(address).encode("utf-8" if utf8 else "ascii")
    return b" ".join([verb + quoted, *options]) + b"\r\n"


class _Group:
    """The replies awaited for one write: how many, those read so far, by when."""

    __slots__ = ("deadline", "future", "replies", "wanted")

    def __init__(
        self, future: asyncio.Future[list[SMTPResponse]], wanted: int, deadline: float | None
    ) -> None:
        self.future = future
        self.wanted = wanted
        self.replies: list[SMTPResponse] = []
        self.deadline = deadline


class Wire(asyncio.Protocol):
    """Reads replies in the order commands were written; takes ``transport`` over.

    The replies to one write (MAIL, RCPT and DATA when pipelined) come back as one
    future, and one timer per connection watches the oldest write's deadline, re-armed
    when it fires early: a timeout context and a future per reply cost more Python than
    the rest of the exchange (docs/benchmarks.md)."""

    def __init__(self, transport: asyncio.BaseTransport, timeout: float | None) -> None:
        self.transport: Any = transport
        self.timeout = timeout
        self._buffer = bytearray()
        self._waiting: deque[_Group] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._lost = False
        #: The current transaction's content has been written: the server may have it.
        self.content_sent = False
        transport.set_protocol(self)

    @property
    def is_connected(self) -> bool:
        return not self._lost and not self.transport.is_closing()

    # -- asyncio.Protocol ----------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (reply := self._take_reply()) is not None:
            if self._waiting:
                group = self._waiting[0]
                group.replies.append(reply)
                if len(group.replies) >= group.wanted:
                    self._waiting.popleft()
                    if not group.future.done():
                        group.future.set_result(group.replies)
            # A reply nobody asked for (a server talking out of turn) is dropped.
        if len(self._buffer) > MAX_REPLY_BYTES:
            self._fail(aiosmtplib.SMTPResponseException(-1, "Response too long"))
            self.transport.close()

    def eof_received(self) -> bool:
        self._fail(aiosmtplib.SMTPServerDisconnected("Unexpected EOF received"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        error = aiosmtplib.SMTPServerDisconnected("Connection lost")
        error.__cause__ = exc
        self._fail(error)

    def _fail(self, error: Exception) -> None:
        self._lost = True
        self._stop_timer()
        while self._waiting:
            future = self._waiting.popleft().future
            if not future.done():
                future.set_exception(error)
                future.exception()  # retrieved: nobody may be awaiting it any more

    def _take_reply(self) -> SMTPResponse | None:
        """The first complete reply in the buffer, removed from it; None if none is."""
        offset = 0
        lines: list[bytes] = []
        while (end := self._buffer.find(b"\n", offset)) != -1:
            line = bytes(self._buffer[offset : end + 1])
            offset = end + 1
            lines.append(line[4:].strip(b" \t\r\n"))
            if line[3:4] != b"-":
                try:
                    code = int(line[:3])
                except ValueError:
                    code = -1
                del self._buffer[:offset]
                return SMTPResponse(code, b"\n".join(lines).decode("utf-8", "surrogateescape"))
        return None

    # -- the timer -----------------------------------------------------------------------
    def _expire(self) -> None:
        """The timer: time out the oldest write if its deadline has passed, else wait
        for that deadline."""
        self._timer = None
        if self._lost or not self._waiting or (deadline := self._waiting[0].deadline) is None:
            return
        loop = asyncio.get_running_loop()
        # The loop may run a timer a hair (its clock's resolution) early.
        if loop.time() + _EARLY < deadline:
            self._timer = loop.call_at(deadline, self._expire)
            return
        # A late reply would answer the next command: this connection is done.
        self._fail(aiosmtplib.SMTPReadTimeoutError("Timed out waiting for server response"))
        self.transport.close()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- commands ------------------------------------------------------------------------
    def _send(self, data: bytes, replies: int) -> asyncio.Future[list[SMTPResponse]]:
        if not self.is_connected:
            raise aiosmtplib.SMTPServerDisconnected("Connection lost")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[SMTPResponse]] = loop.create_future()
        deadline = None
        if self.timeout is not None:
            deadline = loop.time() + self.timeout
            if self._timer is None:
                self._timer = loop.call_at(deadline, self._expire)
        self._waiting.append(_Group(future, replies, deadline))
        self.transport.write(data)
        return future

    async def _replies(self, future: asyncio.Future[list[SMTPResponse]]) -> list[SMTPResponse]:
        try:
            return await future
        except asyncio.CancelledError:
            self.close()  # where the conversation stands is unknown
            raise

    async def command(self, line: bytes) -> SMTPResponse:
        (reply,) = await self._replies(self._send(line, 1))
        return reply

    async def transaction(
        self,
        mail: bytes,
        rcpt: bytes,
        content: bytes,
        *,
        pipelining: bool,
        addresses: tuple[str, str],
    ) -> None:
        """MAIL, RCPT, DATA and ``content`` (from :func:`data_payload`); raises as
        aiosmtplib does when a reply refuses."""
        sender, recipient = addresses
        self.content_sent = False
        if pipelining:
            replies = await self._replies(self._send(mail + rcpt + b"DATA\r\n", 3))
            mailed, rcpted, data = replies
            if mailed.code != 250 or rcpted.code not in (250, 251):
                if data.code == 354:  # accepted with no valid envelope: end it empty
                    await self.command(b".\r\n")
                if mailed.code != 250:
                    raise aiosmtplib.SMTPSenderRefused(mailed.code, mailed.message, sender)
                raise aiosmtplib.SMTPRecipientRefused(rcpted.code, rcpted.message, recipient)
        else:
            mailed = await self.command(mail)
            if mailed.code != 250:
                raise aiosmtplib.SMTPSenderRefused(mailed.code, mailed.message, sender)
            rcpted = await self.command(rcpt)
            if rcpted.code not in (250, 251):
                raise aiosmtplib.SMTPRecipientRefused(rcpted.code, rcpted.message, recipient)
            data = await self.command(b"DATA\r\n")
        if data.code != 354:
            raise aiosmtplib.SMTPDataError(data.code, data.message)
        self.content_sent = True
        done = await self.command(content)
        if done.code != 250:
            raise aiosmtplib.SMTPDataError(done.code, done.message)

    def close(self) -> None:
        self._lost = True
        self._stop_timer()
        self.transport.close()


async def mail_transaction(
    wire: Wire,
    client: aiosmtplib.SMTP,
    mail_from: str,
    rcpt_to: str,
    data: bytes,
    *,
    smtputf8: bool = False,
) -> None:
    """One mail transaction for one recipient on ``wire``, pipelined when offered;
    errors are aiosmtplib's, a refused envelope is reset (RSET). With ``smtputf8`` (a
    non-ASCII local part) MAIL FROM carries SMTPUTF8, or, when the server's EHLO did not
    offer it, nothing is sent and ``SMTPNotSupported`` says why.
    """
    options = []
    if smtputf8:
        if not client.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported(
                "the recipient's or sender's address has a non-ASCII local part, which "
                "needs SMTPUTF8, and this server does not offer it"
            )
        options.append(b"SMTPUTF8")
    # RFC 1870: declare the size, so a server can refuse an oversized message up front.
    if client.supports_extension("size"):
        options.append(b"SIZE=%d" % len(data))
    mail = envelope_command(b"MAIL FROM:", mail_from, options, smtputf8)
    rcpt = envelope_command(b"RCPT TO:", rcpt_to, [], smtputf8)
    try:
        await wire.transaction(
            mail,
            rcpt,
            data_payload(data),
            pipelining=client.supports_extension("pipelining"),
            addresses=(mail_from, rcpt_to),
        )
    except aiosmtplib.SMTPResponseException:
        # Disconnected or no answer to RSET: the original error is the one that counts,
        # and the connection is not used again.
        try:
            await wire.command(b"RSET\r\n")
        except (ConnectionError, aiosmtplib.SMTPException):
            wire.close()
        raise
