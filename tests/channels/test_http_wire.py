"""The HTTP SMS adapter's own HTTP/1.1 client (channels/http_wire.py), against servers
that answer with exactly the bytes each test scripts: how replies are framed, what is
kept, what is refused, when a connection is reused, and TLS verification."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from channel_servers import WebhookReceiver
from tls_material import Certificates

from rapport.channels import HTTPSMSChannel, Outcome, OutgoingMessage, SendResult
from rapport.channels.http_wire import MAX_BODY_BYTES, MAX_HEAD_BYTES, Endpoint

MESSAGE = OutgoingMessage(
    idempotency_key="c7:offer:2026-12-01:sms", kind="sms", to="+15550100", text="Hi", locale="en"
)


def ok(body: bytes = b'{"id": "p-1"}', *headers: bytes) -> bytes:
    """A 200 reply with a Content-Length and ``body``."""
    head = [b"HTTP/1.1 200 OK", b"Content-Length: %d" % len(body), *headers]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


@dataclass
class ScriptedServer:
    """Reads each request whole, then writes the next scripted reply (raw bytes) and,
    when the script says so, closes the connection. Counts requests and connections."""

    replies: list[bytes | tuple[bytes, str]] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/sms"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                self.requests.append(head + await reader.readexactly(length))
                reply = self.replies.pop(0) if self.replies else ok()
                data, then = reply if isinstance(reply, tuple) else (reply, "")
                writer.write(data)
                await writer.drain()
                if then == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer()
    listening = await asyncio.start_server(scripted.serve, "127.0.0.1", 0)
    scripted.port = listening.sockets[0].getsockname()[1]
    async with listening:
        yield scripted
        for writer in scripted.writers:
            writer.close()


async def send(server: ScriptedServer, *replies: bytes | tuple[bytes, str]) -> SendResult:
    server.replies.extend(replies)
    async with HTTPSMSChannel(server.url, timeout=2) as channel:
        return await channel.send(MESSAGE)


async def test_a_reply_delimited_by_content_length_is_read(server: ScriptedServer) -> None:
    result = await send(server, ok(b'{"id": "abc"}'))

    assert (result.outcome, result.provider_id) == (Outcome.ACCEPTED, "abc")


async def test_a_chunked_reply_is_read(server: ScriptedServer) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5;ext=1\r\n{"id"\r\n8\r\n: "abc"}\r\n0\r\nX-Trailer: 1\r\n\r\n'
    )
    result = await send(server, chunked)

    assert (result.outcome, result.provider_id) == (Outcome.ACCEPTED, "abc")


async def test_a_reply_delimited_by_the_end_of_the_connection_is_read(
    server: ScriptedServer,
) -> None:
    result = await send(server, (b'HTTP/1.1 200 OK\r\n\r\n{"id": "abc"}', "close"))

    assert (result.outcome, result.provider_id) == (Outcome.ACCEPTED, "abc")


async def test_interim_replies_are_skipped(server: ScriptedServer) -> None:
    result = await send(server, b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b'{"id": "abc"}'))

    assert (result.outcome, result.provider_id) == (Outcome.ACCEPTED, "abc")


async def test_headers_are_read_whatever_their_case(server: ScriptedServer) -> None:
    reply = b"HTTP/1.1 429 Too Many\r\ncontent-length: 0\r\nretry-AFTER: 7\r\n\r\n"
    result = await send(server, reply)

    assert (result.outcome, result.retry_after) == (Outcome.TRANSIENT, 7.0)


async def test_a_reply_body_beyond_the_bound_is_cut_and_the_connection_dropped(
    server: ScriptedServer,
) -> None:
    huge = b"HTTP/1.1 400 Bad\r\nContent-Length: %d\r\n\r\n" % (10 * MAX_BODY_BYTES)
    server.replies.append(huge + b"x" * (2 * MAX_BODY_BYTES))  # the rest never comes
    async with HTTPSMSChannel(server.url, timeout=2) as channel:
        first = await channel.send(MESSAGE)
        second = await channel.send(MESSAGE)

    assert first.outcome is Outcome.PERMANENT and "HTTP 400" in (first.reason or "")
    assert second.outcome is Outcome.ACCEPTED
    assert server.connections == 2, "the cut reply's connection is not used again"


async def test_headers_beyond_the_bound_are_a_broken_reply(server: ScriptedServer) -> None:
    endless = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * (MAX_HEAD_BYTES + 10)
    result = await send(server, endless)

    assert (result.outcome, result.reached) == (Outcome.TRANSIENT, True)
    assert "RemoteProtocolError" in (result.reason or "")


@pytest.mark.parametrize(
    "garbage",
    [
        b"SMTP/1.0 200 OK\r\n\r\n",
        b"HTTP/1.1 2x0 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["not-http", "bad-status", "bad-length", "bad-header", "bad-chunk"],
)
async def test_a_reply_that_cannot_be_parsed_is_transient_and_counted(
    server: ScriptedServer, garbage: bytes
) -> None:
    result = await send(server, garbage)

    assert (result.outcome, result.reached) == (Outcome.TRANSIENT, True)


async def test_a_connection_the_server_asks_to_close_is_not_reused(
    server: ScriptedServer,
) -> None:
    server.replies.append(ok(b'{"id": "a"}', b"Connection: close"))
    async with HTTPSMSChannel(server.url, timeout=2) as channel:
        results = [await channel.send(MESSAGE) for _ in range(2)]

    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 2
    assert server.connections == 2


async def test_a_connection_closed_by_the_server_while_idle_is_replaced(
    server: ScriptedServer,
) -> None:
    server.replies.append((ok(), "close"))  # answers, keeps nothing alive, says nothing
    async with HTTPSMSChannel(server.url, timeout=2) as channel:
        first = await channel.send(MESSAGE)
        await asyncio.sleep(0.05)  # the server's FIN arrives while the connection is idle
        second = await channel.send(MESSAGE)

    assert (first.outcome, second.outcome) == (Outcome.ACCEPTED, Outcome.ACCEPTED)
    assert server.connections == 2


async def test_a_reply_that_stops_halfway_times_out_as_reached(server: ScriptedServer) -> None:
    server.replies.append(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{")
    async with HTTPSMSChannel(server.url, timeout=0.3) as channel:
        result = await channel.send(MESSAGE)

    assert (result.outcome, result.reached) == (Outcome.TRANSIENT, True)
    assert "ReadTimeout" in (result.reason or "")


async def test_the_request_is_one_http_1_1_post_with_its_length(server: ScriptedServer) -> None:
    await send(server)

    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/sms HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}".encode() in lines
    assert b"Content-Length: %d" % len(body) in lines
    assert body.startswith(b'{"to":"+15550100",')


# --- TLS ---------------------------------------------------------------------------------


def https_url(receiver: WebhookReceiver, host: str = "127.0.0.1") -> str:
    return f"https://{host}:{receiver.server_address[1]}/v1/sms"


async def post_to(url: str) -> None:
    """One request straight on the wire."""
    endpoint = Endpoint(httpx.URL(url), [], timeout=5)
    try:
        await endpoint.post(endpoint.request_bytes([], b"{}"))
    finally:
        endpoint.close()


async def test_https_is_refused_when_the_certificate_is_not_trusted(
    tls_webhook_receiver: WebhookReceiver,
) -> None:
    async with HTTPSMSChannel(https_url(tls_webhook_receiver), timeout=5) as channel:
        result = await channel.send(MESSAGE)
    with pytest.raises(httpx.ConnectError) as caught:
        await post_to(https_url(tls_webhook_receiver))

    assert (result.outcome, result.reached) == (Outcome.TRANSIENT, False)
    assert tls_webhook_receiver.requests == []
    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)


async def test_https_goes_through_with_a_trusted_certificate_for_the_host(
    tls_webhook_receiver: WebhookReceiver,
    certificates: Certificates,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))
    async with HTTPSMSChannel(https_url(tls_webhook_receiver, "localhost"), timeout=5) as channel:
        result = await channel.send(MESSAGE)

    assert result.outcome is Outcome.ACCEPTED
    assert len(tls_webhook_receiver.requests) == 1


async def test_https_checks_the_name_in_the_certificate(
    tls_webhook_receiver: WebhookReceiver,
    certificates: Certificates,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Trusted CA, but the URL names a host the certificate is not for (resolved to
    the server's address here)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))
    loop = asyncio.get_running_loop()
    resolve = loop.getaddrinfo

    async def to_loopback(host: str, *args: Any, **kwargs: Any) -> Any:
        return await resolve("127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", to_loopback)
    with pytest.raises(httpx.ConnectError) as caught:
        await post_to(https_url(tls_webhook_receiver, "sms.example"))

    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)
    assert "sms.example" in str(caught.value.__cause__)
    assert tls_webhook_receiver.requests == []
