"""Provider replies are stored (``last_error``) and logged, so what a provider echoes
back never carries the adapter's credentials, a signed link, an address or a number.

One function does it (``channels.base.redact_reply``) and every adapter's ``send`` is
wrapped with it by the base class; these tests aim real servers on loopback, replying
with everything they should not, at each adapter.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from channel_servers import (
    Reply,
    SMSProviderServer,
    SMTPSink,
    TwilioServer,
    WebhookReceiver,
    free_port,
)

from rapport.channels import (
    HTTPSMSChannel,
    OutgoingMessage,
    SMTPChannel,
    TwilioSMSChannel,
    WebhookChannel,
)
from rapport.channels.base import Channel, SendResult, redact_reply, secret_forms
from rapport.consent.tokens import Purpose, Signer, TokenClaims

PASSWORD = "hunter2-S3cret"
TOKEN = Signer("k").sign(Purpose.UNSUBSCRIBE, TokenClaims("C1", "email", "offers"))
ADDRESS = "maryam.canary@example.org"
PHONE = "+989121234567"
#: What a careless provider puts in its error text.
ECHO = f"refused {ADDRESS} {PHONE} /unsubscribe/{TOKEN} with {PASSWORD}"
LEAKS = (PASSWORD, TOKEN, ADDRESS, PHONE, "maryam.canary", "9121234567")


def assert_clean(*texts: str) -> None:
    for text in texts:
        for leak in LEAKS:
            assert leak not in text, (leak, text)


# --- the function ---------------------------------------------------------------------


def test_secrets_tokens_addresses_and_numbers_are_masked() -> None:
    assert redact_reply(ECHO, [PASSWORD]) == "refused [email] [phone] /unsubscribe/[token] with ***"


@pytest.mark.parametrize(
    "text",
    [
        "HTTP 429 Twilio error 20429 (retry after 120 s)",
        "451 4.3.0 try again at 2026-11-23 10:00",
        "550 5.1.1 mailbox unavailable",
        "text is 1601 characters; the twilio channel carries at most 1600",
    ],
)
def test_ordinary_reasons_are_left_as_they_are(text: str) -> None:
    assert redact_reply(text, ["a-long-secret"]) == text


@pytest.mark.parametrize(
    "phone", ["+98 912 123 4567", "(212) 555-0187", "+1-202-555-0187", "09121234567"]
)
def test_phone_numbers_as_people_write_them(phone: str) -> None:
    assert redact_reply(f"no such number {phone}.") == "no such number [phone]."


@pytest.mark.parametrize(
    "address", ["bob@localhost", "josé@exämple.com", "a.b+tag@mail.example.co.uk"]
)
def test_addresses_without_a_dot_or_ascii_too(address: str) -> None:
    assert redact_reply(f"550 <{address}> unknown") == "550 <[email]> unknown"


def test_a_url_password_is_looked_for_in_every_form_it_travels_in() -> None:
    forms = secret_forms({"url": "smtp://shop:p%40ss-w0rd@mail.example"})
    plain = base64.b64encode(b"\0shop\0p@ss-w0rd").decode()
    basic = base64.b64encode(b"shop:p@ss-w0rd").decode()
    login = base64.b64encode(b"p@ss-w0rd").decode()

    assert {"p@ss-w0rd", "p%40ss-w0rd", plain, basic, login} <= forms
    for echoed in (plain, basic, login, "p@ss-w0rd", "p%40ss-w0rd"):
        assert "ss-w0rd" not in redact_reply(f"535 5.7.8 {echoed} rejected", forms)
        assert echoed not in redact_reply(f"535 5.7.8 {echoed} rejected", forms)


def test_a_third_party_adapter_is_redacted_without_code_of_its_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Careless(Channel):
        name = "careless"
        kinds = frozenset({"sms"})

        def options(self) -> dict[str, Any]:
            return {"api_key": PASSWORD}

        async def send(self, message: OutgoingMessage) -> SendResult:
            return SendResult.permanent(ECHO)

    import asyncio

    with caplog.at_level(logging.DEBUG):
        result = asyncio.run(Careless().send(sms()))

    assert result.reason == "refused [email] [phone] /unsubscribe/[token] with ***"
    assert_clean(*(r.getMessage() for r in caplog.records))


@pytest.mark.parametrize(
    ("name", "reply", "redacted"),
    [
        (
            "Jane Secret",
            "550 mailbox of JANE secret is full",
            "550 mailbox of [name] [name] is full",
        ),
        ("مریم احمدی", "صندوق مریم احمدی پر است", "صندوق [name] [name] پر است"),
        ("J Doe", "no such user J. Doe", "no such user J. [name]"),
        ("Al Ng", "mailbox of al ng unavailable", "mailbox of [name] [name] unavailable"),
        ("王伟", "王伟的邮箱已满", "[name]的邮箱已满"),
    ],
)
def test_a_reply_quoting_the_recipients_name_is_stored_without_it(
    name: str, reply: str, redacted: str
) -> None:
    """A provider may echo the display name it was given; the reason goes into the log
    and ``last_error``, which carry ids, never names (found by the data tester)."""

    class Echoing(Channel):
        name = "echoing"
        kinds = frozenset({"email"})

        async def send(self, message: OutgoingMessage) -> SendResult:
            return SendResult.permanent(reply)

    import asyncio

    message = OutgoingMessage(
        idempotency_key="k", kind="email", to=ADDRESS, subject="Hi", text="Hi", to_name=name
    )
    assert asyncio.run(Echoing().send(message)).reason == redacted


# --- each adapter against a real server that echoes --------------------------------------


def sms() -> OutgoingMessage:
    return OutgoingMessage(idempotency_key="k:sms", kind="sms", to=PHONE, text="Hi")


def mail() -> OutgoingMessage:
    return OutgoingMessage(
        idempotency_key="k:mail", kind="email", to=ADDRESS, subject="Hi", text="Hi\n"
    )


async def send_and_log(
    channel: Channel, message: OutgoingMessage, caplog: pytest.LogCaptureFixture
) -> SendResult:
    with caplog.at_level(logging.DEBUG, logger="rapport"):
        async with channel:
            result = await channel.send(message)
    assert result.reason, "the provider refused: there is a reason to check"
    assert_clean(result.reason, *(r.getMessage() for r in caplog.records))
    return result


async def test_http_sms_reply_is_redacted(
    sms_provider: SMSProviderServer, caplog: pytest.LogCaptureFixture
) -> None:
    sms_provider.replies.append(Reply(400, {"error": ECHO}))
    channel = HTTPSMSChannel(sms_provider.url, token=PASSWORD, timeout=5)

    result = await send_and_log(channel, sms(), caplog)

    assert result.reason.startswith("HTTP 400 refused [email] [phone]")  # type: ignore[union-attr]
    assert result.reason.endswith(" with ***")  # type: ignore[union-attr]


async def test_webhook_reply_is_redacted(
    webhook_receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    webhook_receiver.replies.append(Reply(422, {"code": ECHO}))
    channel = WebhookChannel(webhook_receiver.url, token=PASSWORD, allow_private=True, timeout=5)

    await send_and_log(channel, mail(), caplog)


async def test_twilio_reply_is_redacted(
    twilio_server: TwilioServer, caplog: pytest.LogCaptureFixture
) -> None:
    twilio_server.replies.append(Reply(400, {"code": 21408, "message": ECHO}))
    channel = TwilioSMSChannel(
        account_sid="AC0123", auth_token=PASSWORD, from_number="+15550100",
        base_url=twilio_server.url, timeout=5,
    )  # fmt: skip

    await send_and_log(channel, sms(), caplog)


class _EchoingAuthenticator:
    """Echoes the password back, as a broken server might; accepts it or not."""

    def __init__(self, accept: bool) -> None:
        self.accept = accept

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        password = data.password.decode()
        if self.accept:
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False, message=f"535 5.7.8 {password} {TOKEN}")


def echoing_smtp(accept: bool) -> tuple[SMTPSink, Controller]:
    sink = SMTPSink()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=_EchoingAuthenticator(accept),
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    return sink, controller


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_smtp_auth_reply_echoing_the_password_is_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, controller = echoing_smtp(accept=False)
    try:
        url = f"smtp://shop:{PASSWORD}@127.0.0.1:{controller.port}?starttls=0&insecure_auth=1"
        result = await send_and_log(SMTPChannel(url, timeout=5), mail(), caplog)
    finally:
        controller.stop()

    assert result.reason == "535 5.7.8 *** [token]"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_smtp_recipient_refusal_echoing_everything_is_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink, controller = echoing_smtp(accept=True)
    sink.rcpt_replies.append(f"550 5.1.1 {ECHO}")
    try:
        url = f"smtp://shop:{PASSWORD}@127.0.0.1:{controller.port}?starttls=0&insecure_auth=1"
        result = await send_and_log(SMTPChannel(url, timeout=5), mail(), caplog)
    finally:
        controller.stop()

    assert result.reason == "550 5.1.1 refused [email] [phone] /unsubscribe/[token] with ***"
    assert result.suppress, "redacting the text does not change what it means"
