"""SMTP adapter specifics beyond the contract: URLs, reply codes, reconnects, timeouts."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import aiosmtplib
import aiosmtplib.errors
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from channel_harness import parse_email
from channel_servers import SMTPServer, SMTPSink, free_port

from rapport.channels import Outcome, OutgoingMessage, SMTPChannel, SMTPURLError
from rapport.channels.smtp import SMTPServer as ServerConfig
from rapport.channels.smtp import parse_smtp_url, smtp_error_result


def mail(key: str = "k:1", **changes: Any) -> OutgoingMessage:
    fields: dict[str, Any] = {
        "idempotency_key": key,
        "kind": "email",
        "to": "someone@example.com",
        "subject": "Hello",
        "text": "Hi\n",
    }
    fields.update(changes)
    return OutgoingMessage(**fields)


# --- URL -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.local", ServerConfig("mail.local", 25)),
        ("smtp://127.0.0.1:2525", ServerConfig("127.0.0.1", 2525)),
        ("smtp://h?starttls=0", ServerConfig("h", 25, start_tls=False)),
        ("smtp://h?starttls=1", ServerConfig("h", 587, start_tls=True)),
        ("smtps://h", ServerConfig("h", 465, use_tls=True, start_tls=False)),
        (
            "smtp://user%40shop:p%40ss%3Aword@h:587?starttls=true",
            ServerConfig("h", 587, start_tls=True, username="user@shop", password="p@ss:word"),
        ),
    ],
)
def test_parse_smtp_url(url: str, expected: ServerConfig) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://h",
        "smtp://",
        "smtp://h?tls=1",
        "smtp://h?starttls=maybe",
        "smtps://h?starttls=1",
        "smtp://h:notaport",
    ],
)
def test_bad_smtp_url_is_refused(url: str) -> None:
    with pytest.raises(SMTPURLError):
        parse_smtp_url(url)


def test_repr_hides_the_password() -> None:
    channel = SMTPChannel("smtps://user:s3cret@h")

    assert "s3cret" not in repr(channel)
    assert "s3cret" not in repr(channel.server)


# --- error map -----------------------------------------------------------------------------


def _instance(cls: type[BaseException]) -> BaseException:
    """An instance of any aiosmtplib error, whatever its constructor wants."""
    if issubclass(cls, aiosmtplib.SMTPRecipientsRefused):
        return cls([aiosmtplib.SMTPRecipientRefused(550, "5.1.1 no", "a@b")])
    params = [p for p in inspect.signature(cls).parameters.values() if p.kind != p.VAR_KEYWORD]
    samples = {"code": 451, "message": "try later", "sender": "a@b", "recipient": "a@b"}
    return cls(*(samples.get(p.name, "x") for p in params))


ERRORS = [
    cls
    for cls in vars(aiosmtplib.errors).values()
    if isinstance(cls, type) and issubclass(cls, aiosmtplib.SMTPException)
]


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("connecting", [False, True])
def test_every_aiosmtplib_error_is_mapped(cls: type[BaseException], connecting: bool) -> None:
    result = smtp_error_result(_instance(cls), connecting=connecting)

    assert result is not None, f"{cls.__name__} is not translated"
    if connecting:
        assert result.outcome is Outcome.TRANSIENT
    assert result.reached is not connecting, "only a failure while connecting is unreached"


def test_errors_that_are_not_ours_are_not_swallowed() -> None:
    assert smtp_error_result(KeyError("bug")) is None


@pytest.mark.parametrize(
    ("reply", "outcome", "suppress"),
    [
        ("451 4.3.0 try later", Outcome.TRANSIENT, False),
        ("452 4.2.2 mailbox full", Outcome.TRANSIENT, False),
        ("550 5.1.1 <a@example.com>: no such user", Outcome.PERMANENT, True),
        ("550 no such user", Outcome.PERMANENT, True),
        ("551 user not local", Outcome.PERMANENT, True),
        ("553 mailbox name not allowed", Outcome.PERMANENT, True),
        ("550 5.2.1 mailbox disabled", Outcome.PERMANENT, True),
        ("550 5.7.1 rejected by policy", Outcome.PERMANENT, False),
        ("552 5.2.2 mailbox full", Outcome.TRANSIENT, False),
        ("552 too many recipients", Outcome.TRANSIENT, False),
        ("550 5.2.2 mailbox full", Outcome.TRANSIENT, False),
        ("554 transaction failed", Outcome.PERMANENT, False),
    ],
)
async def test_recipient_replies(
    smtp_server: SMTPServer, reply: str, outcome: Outcome, suppress: bool
) -> None:
    smtp_server.sink.rcpt_replies.append(reply)
    async with SMTPChannel(smtp_server.url) as channel:
        result = await channel.send(mail())

    assert (result.outcome, result.suppress) == (outcome, suppress)
    assert result.reason is not None and result.reason.startswith(reply[:3])
    assert "a@example.com" not in result.reason
    assert result.reached and result.retry_after is None


async def test_data_refusal_never_suppresses(smtp_server: SMTPServer) -> None:
    smtp_server.sink.data_replies.append("550 5.1.1 looks like a bad mailbox but is DATA")
    async with SMTPChannel(smtp_server.url) as channel:
        result = await channel.send(mail())

    assert (result.outcome, result.suppress) == (Outcome.PERMANENT, False)


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [("451 4.3.0 try later", Outcome.TRANSIENT), ("550 5.7.1 sender refused", Outcome.PERMANENT)],
)
async def test_sender_replies(smtp_server: SMTPServer, reply: str, outcome: Outcome) -> None:
    smtp_server.sink.mail_replies.append(reply)
    async with SMTPChannel(smtp_server.url) as channel:
        result = await channel.send(mail())

    assert (result.outcome, result.suppress) == (outcome, False)
    assert result.reached, "the server answered MAIL FROM: it saw the message"
    assert smtp_server.sink.messages == []


async def test_a_transient_data_refusal_was_reached(smtp_server: SMTPServer) -> None:
    smtp_server.sink.data_replies.append("451 4.3.0 queue full")
    async with SMTPChannel(smtp_server.url) as channel:
        result = await channel.send(mail())

    assert (result.outcome, result.reached) == (Outcome.TRANSIENT, True)


async def test_a_refused_message_leaves_the_connection_ready_for_the_next(
    smtp_server: SMTPServer,
) -> None:
    smtp_server.sink.rcpt_replies.append("550 5.1.1 no such user")
    smtp_server.sink.data_replies.append("554 5.6.0 rejected")
    async with SMTPChannel(smtp_server.url, sender="shop@example.com") as channel:
        refused = await channel.send(mail("k:1"))
        rejected = await channel.send(mail("k:2"))
        accepted = await channel.send(mail("k:3", to="next@example.com"))

    assert [r.outcome for r in (refused, rejected, accepted)] == [
        Outcome.PERMANENT,
        Outcome.PERMANENT,
        Outcome.ACCEPTED,
    ]
    assert smtp_server.sink.envelopes == [("shop@example.com", ["next@example.com"])]
    assert smtp_server.sink.connections == 1


async def test_the_message_size_is_declared_up_front(smtp_server: SMTPServer) -> None:
    async with SMTPChannel(smtp_server.url) as channel:
        await channel.send(mail(text="سلام\n" * 200))

    [message] = smtp_server.sink.messages
    assert smtp_server.sink.mail_options == [[f"SIZE={len(message)}"]]


async def test_a_quoted_local_part_is_delivered_to_that_mailbox(smtp_server: SMTPServer) -> None:
    async with SMTPChannel(smtp_server.url) as channel:
        result = await channel.send(mail(to='"maryam ahmadi"@example.com'))

    assert result.outcome is Outcome.ACCEPTED, result.reason
    assert smtp_server.sink.envelopes[0][1] == ['"maryam ahmadi"@example.com']


# --- connections ----------------------------------------------------------------------------


async def test_a_server_that_is_down_is_transient() -> None:
    async with SMTPChannel(f"smtp://127.0.0.1:{free_port()}?starttls=0", timeout=5) as channel:
        result = await channel.send(mail())

    assert result.outcome is Outcome.TRANSIENT
    assert "connection" in (result.reason or "")
    assert not result.reached


async def test_a_server_gone_between_two_messages_was_not_reached(smtp_server: SMTPServer) -> None:
    async with SMTPChannel(smtp_server.url, timeout=5) as channel:
        assert (await channel.send(mail("k:1"))).outcome is Outcome.ACCEPTED
        await asyncio.to_thread(smtp_server.controller.stop)
        try:
            result = await channel.send(mail("k:2"))
        finally:  # back up on the same port, for the fixture to stop
            await asyncio.to_thread(smtp_server.start_again)

    assert (result.outcome, result.reached) == (Outcome.TRANSIENT, False)


async def test_starttls_required_but_not_offered_was_not_reached(smtp_server: SMTPServer) -> None:
    url = smtp_server.url.replace("starttls=0", "starttls=1")
    async with SMTPChannel(url, timeout=5) as channel:
        result = await channel.send(mail())

    assert (result.outcome, result.reached) == (Outcome.TRANSIENT, False)
    assert smtp_server.sink.messages == []


async def test_reconnects_after_the_server_dropped_the_connection(smtp_server: SMTPServer) -> None:
    async with SMTPChannel(smtp_server.url) as channel:
        assert (await channel.send(mail("k:1"))).outcome is Outcome.ACCEPTED
        await asyncio.to_thread(smtp_server.restart)
        result = await channel.send(mail("k:2"))

    assert result.outcome is Outcome.ACCEPTED, result.reason
    assert len(smtp_server.sink.messages) == 2
    assert smtp_server.sink.connections == 2


class TakesThenHangsUp(SMTPSink):
    """Keeps the second message of a connection, then drops it before the 250 reply."""

    def __init__(self) -> None:
        super().__init__()
        self.taken_per_connection: dict[int, int] = {}

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        taken = self.taken_per_connection.get(id(server), 0) + 1
        self.taken_per_connection[id(server)] = taken
        if taken == 2 and server.transport is not None:
            server.transport.close()
        return reply


async def test_a_message_whose_connection_dropped_after_its_content_is_not_resent_at_once() -> None:
    """Reconnecting at once is for a connection the server closed while it was idle;
    one that drops after the content went out may have delivered it, so the send is
    an unanswered transient failure, retried later with the same Message-ID."""
    sink = TakesThenHangsUp()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        async with SMTPChannel(SMTPServer(sink, controller).url, timeout=5) as channel:
            first = await channel.send(mail("k:1"))
            second = await channel.send(mail("k:2"))
    finally:
        controller.stop()

    assert first.outcome is Outcome.ACCEPTED, first.reason
    assert len(sink.messages) == 2, "the message the server took was sent again at once"
    assert (second.outcome, second.reached, second.unanswered) == (Outcome.TRANSIENT, True, True)


async def test_a_slow_server_times_out_as_transient_and_the_next_send_reconnects(
    smtp_server: SMTPServer,
) -> None:
    smtp_server.sink.data_delay = 1.0
    async with SMTPChannel(smtp_server.url, timeout=0.3) as channel:
        slow = await channel.send(mail("k:1"))
        smtp_server.sink.data_delay = 0
        fine = await channel.send(mail("k:2"))

    assert slow.outcome is Outcome.TRANSIENT
    assert slow.reached, "DATA went out; the server may have taken it"
    assert fine.outcome is Outcome.ACCEPTED, fine.reason


async def test_a_message_whose_server_stalled_after_its_content_is_unanswered(
    smtp_server: SMTPServer,
) -> None:
    """The server may have taken it: a channel's next provider is not tried at once."""
    smtp_server.sink.data_delay = 1.0
    async with SMTPChannel(smtp_server.url, timeout=0.3) as channel:
        slow = await channel.send(mail("k:1"))

    assert (slow.outcome, slow.reached, slow.unanswered) == (Outcome.TRANSIENT, True, True)


async def test_a_send_after_a_fast_one_still_times_out_when_the_server_stalls(
    smtp_server: SMTPServer,
) -> None:
    # One timer per connection, armed by the first send: it must still catch the second.
    async with SMTPChannel(smtp_server.url, timeout=0.3) as channel:
        fine = await channel.send(mail("k:1"))
        smtp_server.sink.data_delay = 1.0
        slow = await channel.send(mail("k:2"))

    assert fine.outcome is Outcome.ACCEPTED, fine.reason
    assert (slow.outcome, slow.reason) == (Outcome.TRANSIENT, "timed out")


async def test_an_idle_connection_past_the_timeout_is_not_timed_out(
    smtp_server: SMTPServer,
) -> None:
    async with SMTPChannel(smtp_server.url, timeout=0.3) as channel:
        first = await channel.send(mail("k:1"))
        await asyncio.sleep(0.6)  # the timer fires with nothing awaited
        second = await channel.send(mail("k:2"))

    assert [first.outcome, second.outcome] == [Outcome.ACCEPTED] * 2, second.reason
    assert smtp_server.sink.connections == 1


async def test_concurrent_sends_share_the_one_connection(smtp_server: SMTPServer) -> None:
    async with SMTPChannel(smtp_server.url) as channel:
        results = await asyncio.gather(*(channel.send(mail(f"k:{n}")) for n in range(10)))

    assert {r.outcome for r in results} == {Outcome.ACCEPTED}
    assert len(smtp_server.sink.messages) == 10
    assert smtp_server.sink.connections == 1


# --- envelope and addresses ------------------------------------------------------------------


async def test_envelope_uses_bare_addresses_and_punycode(smtp_server: SMTPServer) -> None:
    async with SMTPChannel(smtp_server.url, sender="Shop «فروشگاه» <shop@example.com>") as channel:
        result = await channel.send(mail(to="maryam@bücher.example"))

    assert result.outcome is Outcome.ACCEPTED, result.reason
    assert smtp_server.sink.envelopes == [("shop@example.com", ["maryam@xn--bcher-kva.example"])]
    assert parse_email(smtp_server.sink.messages[0]).to == "maryam@xn--bcher-kva.example"


async def test_an_address_email_cannot_carry_is_permanent_and_not_sent(
    smtp_server: SMTPServer,
) -> None:
    async with SMTPChannel(smtp_server.url) as channel:
        result = await channel.send(mail(to="مریم@example.com"))

    assert (result.outcome, result.suppress) == (Outcome.PERMANENT, False)
    assert smtp_server.sink.connections == 0


def test_an_unsafe_default_sender_is_refused_at_configuration() -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        SMTPChannel("smtp://h", sender="a@b\r\nBcc: c@d")


# --- authentication ---------------------------------------------------------------------------


class _Authenticator:
    def __init__(self) -> None:
        self.logins: list[tuple[str, bytes]] = []

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        self.logins.append((data.login.decode(), data.password))
        # handled=False: let aiosmtpd answer 535 itself on failure.
        return AuthResult(success=data.password == b"p@ss", handled=False)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize(("password", "outcome"), [("p%40ss", "accepted"), ("wrong", "transient")])
async def test_url_credentials_log_in(password: str, outcome: str) -> None:
    authenticator = _Authenticator()
    controller = Controller(
        SMTPSink(),
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        url = f"smtp://shop:{password}@127.0.0.1:{controller.port}?starttls=0&insecure_auth=1"
        async with SMTPChannel(url) as channel:
            result = await channel.send(mail())
    finally:
        controller.stop()

    assert result.outcome == outcome, result.reason
    assert result.reached is (outcome == "accepted"), "a failed AUTH sent no MAIL FROM"
    assert authenticator.logins[0][0] == "shop"
