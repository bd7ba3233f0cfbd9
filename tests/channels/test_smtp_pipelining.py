"""SMTP transactions on the adapter's own wire: pipelined when the server offers PIPELINING
(RFC 2920), each refusal read as before, the content dot-stuffed."""

from __future__ import annotations

import asyncio

import pytest
from channel_harness import parse_email, unix_text
from channel_servers import SMTPServer
from test_smtp_channel import mail

from rapport.channels import Outcome, SMTPChannel
from rapport.channels.smtp_wire import data_payload


async def test_with_pipelining_mail_rcpt_and_data_go_out_before_the_first_reply() -> None:
    """A server that answers MAIL only once RCPT and DATA have arrived: a client waiting
    for each reply would time out."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 test ESMTP\r\n")
        while line := await reader.readline():
            received.append(line)
            if line.startswith(b"EHLO"):
                writer.write(b"250-test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif line.startswith(b"MAIL"):
                group = [line, await reader.readline(), await reader.readline()]
                received.extend(group[1:])
                assert [g[:4] for g in group] == [b"MAIL", b"RCPT", b"DATA"]
                writer.write(b"250 ok\r\n250 ok\r\n354 go on\r\n")
                content = await reader.readuntil(b"\r\n.\r\n")
                received.append(content)
                writer.write(b"250 queued\r\n")
            elif line.startswith(b"QUIT"):
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, SMTPChannel(f"smtp://127.0.0.1:{port}?starttls=0", timeout=2) as channel:
        results = [await channel.send(mail(f"k:{n}")) for n in range(3)]

    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 3
    assert sum(line.startswith(b"MAIL FROM:") for line in received) == 3


async def test_a_pipelined_message_arrives_whole(pipelining_server: SMTPServer) -> None:
    text = "Hi\n.\n..two dots\n"
    async with SMTPChannel(pipelining_server.url) as channel:
        result = await channel.send(mail(text=text))

    assert result.outcome is Outcome.ACCEPTED
    [raw] = pipelining_server.sink.messages
    assert unix_text(parse_email(raw).text) == text


@pytest.mark.parametrize(
    ("queue", "reply", "outcome", "suppress"),
    [
        ("mail_replies", "451 4.3.0 try later", Outcome.TRANSIENT, False),
        ("mail_replies", "550 5.7.1 sender refused", Outcome.PERMANENT, False),
        ("rcpt_replies", "550 5.1.1 no such user", Outcome.PERMANENT, True),
        ("rcpt_replies", "452 4.2.2 mailbox full", Outcome.TRANSIENT, False),
        ("data_replies", "554 5.6.0 rejected", Outcome.PERMANENT, False),
    ],
)
async def test_a_pipelined_refusal_is_read_as_without_pipelining_and_the_next_message_goes(
    pipelining_server: SMTPServer, queue: str, reply: str, outcome: Outcome, suppress: bool
) -> None:
    getattr(pipelining_server.sink, queue).append(reply)
    async with SMTPChannel(pipelining_server.url, sender="shop@example.com") as channel:
        refused = await channel.send(mail("k:1"))
        accepted = await channel.send(mail("k:2", to="next@example.com"))

    assert (refused.outcome, refused.suppress, refused.reached) == (outcome, suppress, True)
    assert accepted.outcome is Outcome.ACCEPTED
    assert pipelining_server.sink.envelopes == [("shop@example.com", ["next@example.com"])]
    assert pipelining_server.sink.connections == 1


@pytest.mark.parametrize(
    ("content", "wire"),
    [
        (b"a\r\n.b\r\n", b"a\r\n..b\r\n.\r\n"),
        (b".first\r\nlast", b"..first\r\nlast\r\n.\r\n"),
        (b"bare\nlf\rcr\r\n", b"bare\r\nlf\r\ncr\r\n.\r\n"),
    ],
)
def test_data_content_is_crlf_and_dot_stuffed(content: bytes, wire: bytes) -> None:
    assert data_payload(content) == wire
