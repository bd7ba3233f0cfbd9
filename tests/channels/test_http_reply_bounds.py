"""Every HTTP adapter reads a provider's reply within bounds: the whole reply within the
timeout, at most MAX_BODY_BYTES of its body in memory.

Found by the channel tester: with ``timeout: 1``, a provider writing its 84-byte reply
a byte every half second held each send 42 s (httpx's read timeout, and the wire's,
counted from the last byte), so a provider trickling bytes held the dispatcher's sends
for days; and a 300 MB reply took ``twilio`` and ``webhook`` (httpx reads a body
whole) to 940 MB of memory.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from rapport.channels import Channel, HTTPSMSChannel, Outcome, OutgoingMessage
from rapport.channels.twilio import TwilioSMSChannel
from rapport.channels.webhook import WebhookChannel

MESSAGE = OutgoingMessage(idempotency_key="k:1", kind="sms", to="+15550100", text="Hi")

Serve = Callable[[asyncio.StreamWriter], Awaitable[None]]


def adapter(name: str, port: int, timeout: float) -> Channel:
    base = f"http://127.0.0.1:{port}"
    if name == "http_sms":
        return HTTPSMSChannel(f"{base}/sms", timeout=timeout)
    if name == "twilio":
        sid = "AC" + "0" * 32
        return TwilioSMSChannel(
            sid, "t" * 32, from_number="+15550199", base_url=base, timeout=timeout
        )
    return WebhookChannel(f"{base}/hook", allow_private=True, timeout=timeout)


@pytest.fixture
async def provider() -> AsyncIterator[Callable[[Serve], Awaitable[int]]]:
    """Start a provider that reads a request, then answers with ``serve(writer)``."""
    servers: list[asyncio.Server] = []

    async def start(serve: Serve) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                await serve(writer)
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()


ADAPTERS = ["http_sms", "twilio", "webhook"]


@pytest.mark.parametrize("name", ADAPTERS)
async def test_a_reply_trickling_in_byte_by_byte_times_out_within_the_timeout(
    name: str, provider: Callable[[Serve], Awaitable[int]]
) -> None:
    body = b'{"id": "p-1", "sid": "SM1"}'
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)
    written: list[int] = []

    async def trickle(writer: asyncio.StreamWriter) -> None:
        for byte in reply:  # about 14 s in all, each byte well within the timeout
            writer.write(bytes([byte]))
            await writer.drain()
            written.append(byte)
            await asyncio.sleep(0.2)

    port = await provider(trickle)
    # A timeout of a second: 0.6 s let a connection made on a loaded machine (the
    # suite's four workers) time out while connecting, another failure than this one.
    async with adapter(name, port, timeout=1.0) as channel:
        result = await channel.send(MESSAGE)

    assert (result.outcome, result.reached) == (Outcome.TRANSIENT, True), result
    assert "ReadTimeout" in (result.reason or "")
    # Counted, not timed: the adapter gave up while most of the reply was still to come.
    assert len(written) < len(reply) // 2


@pytest.mark.parametrize("name", ADAPTERS)
async def test_a_huge_reply_is_read_only_up_to_the_bound(
    name: str, provider: Callable[[Serve], Awaitable[int]]
) -> None:
    size = 32 * 1024 * 1024

    async def huge(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        chunk = b" " * (1024 * 1024)
        for _ in range(size // len(chunk)):
            writer.write(chunk)
            await writer.drain()

    port = await provider(huge)
    async with adapter(name, port, timeout=5) as channel:
        tracemalloc.start()
        try:
            result = await channel.send(MESSAGE)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert result.outcome is Outcome.ACCEPTED  # a 200 is accepted, its id unreadable
    assert peak < 4 * 1024 * 1024
