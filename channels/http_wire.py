"""HTTP/1.1 POSTs on kept-alive connections of the adapter's own, on asyncio.

The generic SMS adapter (:mod:`.http_sms`) sends one small JSON POST per message and
reads a small reply. Through httpx's transport that cost about 600 us of Python a
request (httpcore's pool, h11's state machine, anyio's locks and cancel scopes), most
of a dispatcher's time on a fast provider. Here a request is one ``write`` of bytes
built from a prefix made once per adapter, and the reply is parsed as it arrives by
:class:`Connection`, an :class:`asyncio.Protocol`: about 40 us a request.

What a connection does, and what it refuses:

* the request line, ``Host``, the fixed headers and ``Content-Length`` are written by
  :class:`Endpoint` (the header values were checked for CR, LF and NUL by the adapter);
* the reply's status line and headers are read up to :data:`MAX_HEAD_BYTES`; interim
  ``1xx`` replies are skipped; the body is delimited by ``Content-Length``, chunked
  transfer coding or the end of the connection (RFC 9112 section 6.3); a reply without
  a body (``204``, ``304``) has none;
* at most :data:`MAX_BODY_BYTES` of the body are kept: a provider cannot make us
  buffer without bound. A longer body is cut there, the reply is returned with what
  was kept and the connection is closed rather than read to its end;
* a reply that cannot be parsed raises ``httpx.RemoteProtocolError``; a connection
  closed before the reply was complete ``httpx.RemoteProtocolError`` (closed cleanly)
  or ``httpx.ReadError`` (reset); a reply not complete ``timeout`` seconds after the
  request was written ``httpx.ReadTimeout`` (a whole reply, not each wait for its next
  bytes: a provider sending a byte now and then would hold the send for days). A
  connection that cannot be opened (refused, a name that does not resolve, a failed
  TLS handshake) raises ``httpx.ConnectError``,
  one not open within ``timeout`` ``httpx.ConnectTimeout``. These are httpx's own
  types so that :func:`rapport.channels.http_sms.http_error_result` maps both clients'
  failures in one place; after any failure the connection is closed, never reused;
* a connection is kept for the next request only when the reply was read completely
  on an HTTP/1.1 connection that the server did not ask to close (``Connection:
  close``); a connection the server closed while idle is dropped before use;
* ``https`` URLs are verified as httpx verifies them (:func:`tls_context`: the same
  CA bundle, ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` honoured, the host name checked),
  with one context per process instead of one per adapter instance (loading the CA
  bundle takes about 20 ms).

Redirects are never followed: a ``3xx`` is returned like any other reply.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from typing import Any, Final

import httpx

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_HEAD_BYTES",
    "Connection",
    "Endpoint",
    "Reply",
    "ReplyHeaders",
    "tls_context",
]

#: The status line and headers of a reply, at most.
MAX_HEAD_BYTES: Final = 64 * 1024
#: The part of a reply's body that is kept, at most (a provider answers in a few
#: hundred bytes; the JSON it sends is read from what is kept).
MAX_BODY_BYTES: Final = 64 * 1024
#: Idle connections an endpoint keeps for later requests.
MAX_IDLE: Final = 32

_NO_BODY: Final = frozenset({204, 304})


class ReplyHeaders(dict[str, str]):
    """A reply's headers by lower-case name (repeated ones joined with ``", "``, as
    httpx's ``Headers.get`` joins them); ``get`` ignores the case of the name."""

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


class Reply:
    """What the adapter reads of a reply: status, headers, the (bounded) body."""

    __slots__ = ("content", "headers", "status_code", "truncated")

    def __init__(
        self, status_code: int, headers: ReplyHeaders, content: bytes, truncated: bool = False
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        #: The body was longer than :data:`MAX_BODY_BYTES` and was cut there.
        self.truncated = truncated

    def json(self) -> Any:
        """The body parsed as JSON (``json.loads`` detects UTF-8, -16 and -32)."""
        return json.loads(self.content)


_contexts: dict[tuple[str | None, str | None], ssl.SSLContext] = {}


def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context (its CA bundle, or ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR`` when set), made once per process for each of those settings."""
    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    context = _contexts.get(key)
    if context is None:
        context = httpx.create_ssl_context()
        context.set_alpn_protocols(["http/1.1"])
        _contexts[key] = context
    return context


class _Broken(Exception):
    """The reply cannot be parsed."""


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection carrying one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Reply] | None = None
        self._timeout = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._written_at = 0.0
        self._reset_reply()

    def _reset_reply(self) -> None:
        self._status = 0
        self._headers: ReplyHeaders | None = None
        self._keep_alive = False
        #: "length", "chunked" or "close": how the body ends; "" before the head.
        self._framing = ""
        self._left = 0  # body bytes still to come ("length") or of the current chunk
        self._in_chunk = False
        self._trailers = False
        self._body = bytearray()

    # -- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():  # bytes nobody asked for: not a usable peer
            self.close()
            return
        self._buffer += data
        try:
            reply = self._parse()
        except _Broken as exc:
            self._fail(httpx.RemoteProtocolError(str(exc)))
            return
        if reply is not None:
            self._waiter = None
            waiter.set_result(reply)

    def eof_received(self) -> bool:
        self._ended(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._ended(exc)

    def _ended(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if exc is None and self._framing == "close":  # the end delimits the body
            self._waiter = None
            self._keep_alive = False
            waiter.set_result(self._reply())
            return
        if exc is None:
            error: Exception = httpx.RemoteProtocolError(
                "Server disconnected without sending a complete response."
            )
        else:
            error = httpx.ReadError(str(exc) or type(exc).__name__)
        self._fail(error)

    def _fail(self, error: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    # -- the request ---------------------------------------------------------------------
    @property
    def usable(self) -> bool:
        """Open, idle, and not closing: fit for the next request."""
        transport = self.transport
        return not self.closed and transport is not None and not transport.is_closing()

    @property
    def reusable(self) -> bool:
        """The last reply was read whole and the connection may carry another."""
        return self._keep_alive and self.usable and not self._buffer

    async def request(self, data: bytes, timeout: float) -> Reply:
        """Write ``data`` (a whole request) and return the reply; raises httpx errors."""
        transport = self.transport
        if transport is None or not self.usable:
            raise httpx.RemoteProtocolError("the connection was closed before the request")
        loop = asyncio.get_running_loop()
        self._reset_reply()
        waiter = self._waiter = loop.create_future()
        self._timeout = timeout
        self._written_at = now = loop.time()
        self._timer = loop.call_at(now + timeout, self._check_timeout)
        try:
            transport.write(data)
            return await waiter
        except BaseException:
            self.close()  # where the exchange stands is unknown: never reuse it
            raise
        finally:
            self._timer.cancel()
            self._timer = None

    def _check_timeout(self) -> None:
        """The reply is not complete ``timeout`` seconds after the request was written:
        the request timed out, however many bytes have come."""
        loop = asyncio.get_running_loop()
        due = self._written_at + self._timeout
        if loop.time() < due:  # the loop may run a timer a hair early
            self._timer = loop.call_at(due, self._check_timeout)
            return
        self._fail(httpx.ReadTimeout("timed out waiting for the provider's reply"))

    def close(self) -> None:
        self.closed = True
        self._keep_alive = False
        if self.transport is not None:
            self.transport.close()

    # -- the reply -----------------------------------------------------------------------
    def _reply(self) -> Reply:
        assert self._headers is not None
        truncated = len(self._body) > MAX_BODY_BYTES
        content = bytes(self._body[:MAX_BODY_BYTES])
        return Reply(self._status, self._headers, content, truncated)

    def _parse(self) -> Reply | None:
        """The reply, once complete; None while more is to come."""
        buffer = self._buffer
        while not self._framing:  # interim 1xx replies are skipped: parse the next head
            before = len(buffer)
            if (reply := self._head()) is not None:
                return reply
            if not self._framing and len(buffer) == before:
                return None  # the head is not all in yet
        if self._framing == "length":
            take = min(self._left, len(buffer))
            self._body += buffer[:take]
            del buffer[:take]
            self._left -= take
            if self._left and len(self._body) <= MAX_BODY_BYTES:
                return None
            if self._left or buffer:  # cut short, or more bytes than announced
                self._keep_alive = False
            return self._reply()
        if self._framing == "chunked":
            return self._chunks()
        # "close": the body runs to the end of the connection
        self._body += buffer
        buffer.clear()
        if len(self._body) > MAX_BODY_BYTES:
            return self._reply()
        return None

    def _head(self) -> Reply | None:
        """Parse the status line and headers once they are all in; sets the framing.
        Returns a reply that has no body, else None."""
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n")
        skip = 4
        if end == -1:
            end = buffer.find(b"\n\n")  # bare LF line endings, as h11 tolerates
            skip = 2
        if end == -1:
            if len(buffer) > MAX_HEAD_BYTES:
                raise _Broken("the reply's headers are too long")
            return None
        if end > MAX_HEAD_BYTES:
            raise _Broken("the reply's headers are too long")
        lines = bytes(buffer[:end]).split(b"\n")
        del buffer[: end + skip]
        version, _, rest = lines[0].rstrip(b"\r").partition(b" ")
        code = rest[:3]
        if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
            raise _Broken("the reply does not start with an HTTP/1.x status line")
        status = int(code)
        if 100 <= status < 200:
            if status == 101:
                raise _Broken("the server switched protocols")
            return None  # an interim reply: the final one follows
        headers = ReplyHeaders()
        for raw in lines[1:]:
            line = raw.rstrip(b"\r")
            if line[:1] in (b" ", b"\t"):
                raise _Broken("the reply folds a header line")
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise _Broken("the reply has a malformed header line")
            key = name.decode("latin-1").lower()
            text = value.strip(b" \t").decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        self._status = status
        self._headers = headers
        tokens = headers.get("connection", "").lower()
        self._keep_alive = version == b"HTTP/1.1" and "close" not in tokens
        if status in _NO_BODY:
            self._framing = "none"
            return self._reply()
        coding = headers.get("transfer-encoding")
        if coding is not None:
            if coding.lower().rsplit(",", 1)[-1].strip() == "chunked":
                self._framing = "chunked"
                if "content-length" in headers:  # RFC 9112 6.3: do not trust the pair
                    self._keep_alive = False
            else:
                self._framing = "close"
                self._keep_alive = False
            return None
        length = headers.get("content-length")
        if length is None:
            self._framing = "close"
            self._keep_alive = False
            return None
        values = {v.strip() for v in length.split(",")}
        if len(values) != 1 or not (only := values.pop()).isdigit():
            raise _Broken("the reply's Content-Length is not a number")
        self._framing = "length"
        self._left = int(only)
        if not self._left:
            return self._reply()
        return None

    def _chunks(self) -> Reply | None:
        buffer = self._buffer
        while True:
            if len(self._body) > MAX_BODY_BYTES:
                self._keep_alive = False
                return self._reply()
            if self._trailers:  # after the last chunk: trailer lines up to an empty one
                end = buffer.find(b"\n")
                if end == -1:
                    if len(buffer) > MAX_HEAD_BYTES:
                        raise _Broken("the reply's trailers are too long")
                    return None
                line = bytes(buffer[:end]).rstrip(b"\r")
                del buffer[: end + 1]
                if not line:
                    if buffer:
                        self._keep_alive = False
                    return self._reply()
                continue
            if self._in_chunk:
                if self._left:
                    take = min(self._left, len(buffer))
                    self._body += buffer[:take]
                    del buffer[:take]
                    self._left -= take
                    if self._left:
                        return None
                end = buffer.find(b"\n")  # the CRLF after the chunk's data
                if end == -1:
                    if len(buffer) > 2:
                        raise _Broken("a chunk is longer than its size")
                    return None
                if bytes(buffer[:end]).rstrip(b"\r"):
                    raise _Broken("a chunk is longer than its size")
                del buffer[: end + 1]
                self._in_chunk = False
                continue
            end = buffer.find(b"\n")
            if end == -1:
                if len(buffer) > 1024:
                    raise _Broken("a chunk size line is too long")
                return None
            size = bytes(buffer[:end]).split(b";", 1)[0].strip()
            del buffer[: end + 1]
            try:
                self._left = int(size, 16)
            except ValueError:
                raise _Broken("a chunk size is not a hexadecimal number") from None
            if self._left < 0 or size[:1] in (b"+", b"-"):
                raise _Broken("a chunk size is not a hexadecimal number")
            if self._left == 0:
                self._trailers = True
            else:
                self._in_chunk = True


class Endpoint:
    """Kept-alive connections to one ``http``/``https`` URL, POSTing to it.

    Each request takes an idle connection or opens one; the connection goes back to
    the idle ones if it may carry another request. Many requests may run at once (one
    connection each).
    """

    def __init__(self, url: httpx.URL, fixed_headers: list[tuple[str, str]], timeout: float):
        if url.scheme not in ("http", "https"):
            raise ValueError("the URL must be http:// or https://")
        self.timeout = timeout
        self.tls = url.scheme == "https"
        self.host = url.raw_host.decode("ascii")
        self.port = url.port or (443 if self.tls else 80)
        host_header = httpx.Request("POST", url).headers["Host"]
        lines = [f"POST {url.raw_path.decode('ascii')} HTTP/1.1", f"Host: {host_header}"]
        lines += [f"{name}: {value}" for name, value in fixed_headers]
        #: The request up to the headers that change with each request.
        self.prefix = ("\r\n".join(lines) + "\r\n").encode("utf-8")
        self._idle: list[Connection] = []
        self._all: set[Connection] = set()

    def request_bytes(self, headers: list[tuple[str, str]], body: bytes) -> bytes:
        """The whole request: the prefix, ``headers``, ``Content-Length``, ``body``."""
        more = "".join(f"{name}: {value}\r\n" for name, value in headers)
        return b"%b%bContent-Length: %d\r\n\r\n%b" % (
            self.prefix,
            more.encode("utf-8"),
            len(body),
            body,
        )

    async def post(self, data: bytes) -> Reply:
        """Send ``data`` (from :meth:`request_bytes`); raises httpx's errors."""
        connection = await self._connection()
        try:
            reply = await connection.request(data, self.timeout)
        except BaseException:
            self._all.discard(connection)
            raise
        if connection.reusable and len(self._idle) < MAX_IDLE:
            self._idle.append(connection)
        else:
            connection.close()
            self._all.discard(connection)
        return reply

    async def _connection(self) -> Connection:
        while self._idle:
            connection = self._idle.pop()
            if connection.usable:
                return connection
            self._all.discard(connection)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                _, connection = await loop.create_connection(
                    Connection,
                    self.host,
                    self.port,
                    ssl=tls_context() if self.tls else None,
                    server_hostname=self.host if self.tls else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout("timed out connecting to the provider") from None
        except OSError as exc:  # refused, unresolvable, TLS handshake failed (SSLError)
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        self._all.add(connection)
        return connection

    def close(self) -> None:
        """Close every connection, idle or in use."""
        for connection in self._all:
            connection.close()
        self._all.clear()
        self._idle.clear()
