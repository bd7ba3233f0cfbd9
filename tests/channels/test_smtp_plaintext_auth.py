"""SMTP credentials never travel unencrypted unless the URL says ``insecure_auth=1``.

Against real aiosmtpd servers on loopback that offer AUTH without TLS (as a
misconfigured or hostile server would), every AUTH command the server receives is
recorded, whatever the mechanism.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from channel_servers import SMTPSink, free_port
from tls_material import Certificates

from rapport.channels import (
    AdapterOptionsError,
    Outcome,
    OutgoingMessage,
    SMTPChannel,
    SMTPURLError,
    build_channel,
)

MAIL = OutgoingMessage(
    idempotency_key="k:auth", kind="email", to="someone@example.com", subject="Hi", text="Hi\n"
)
PASSWORD = "p@ss"


class _RecordingSMTP(SMTP):
    """aiosmtpd's server, keeping the argument of every AUTH command it receives."""

    def __init__(self, *args: Any, commands: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._commands = commands

    async def smtp_AUTH(self, arg: str) -> None:
        self._commands.append(arg)
        await super().smtp_AUTH(arg)


class _Recording(Controller):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.auth_commands: list[str] = []

    def factory(self) -> SMTP:
        return _RecordingSMTP(self.handler, commands=self.auth_commands, **self.SMTP_kwargs)


def _accept(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    return AuthResult(success=data.password == PASSWORD.encode(), handled=False)


@contextmanager
def server(**kwargs: Any) -> Iterator[tuple[SMTPSink, _Recording]]:
    """AUTH offered and required; over a plain connection unless TLS is configured."""
    sink = SMTPSink()
    controller = _Recording(
        sink,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=_accept,
        auth_required=True,
        auth_require_tls=False,
        **kwargs,
    )
    controller.start()
    try:
        yield sink, controller
    finally:
        controller.stop()


async def send(url: str, **options: Any) -> Any:
    async with SMTPChannel(url, timeout=5, **options) as channel:
        return await channel.send(MAIL)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_no_auth_is_sent_to_a_server_without_starttls() -> None:
    with server() as (sink, controller):
        result = await send(f"smtp://shop:p%40ss@127.0.0.1:{controller.port}")

    assert controller.auth_commands == [], "nothing of the credentials reached the server"
    assert sink.messages == []
    assert (result.outcome, result.reached) == (Outcome.TRANSIENT, False)
    assert "insecure_auth=1" in result.reason
    assert "no STARTTLS" in result.reason
    assert PASSWORD not in result.reason


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize("query", ["?insecure_auth=1", "?starttls=0&insecure_auth=true"])
async def test_insecure_auth_in_the_url_sends_it_anyway(query: str) -> None:
    with server() as (sink, controller):
        result = await send(f"smtp://shop:p%40ss@127.0.0.1:{controller.port}{query}")

    assert result.outcome is Outcome.ACCEPTED, result.reason
    assert len(controller.auth_commands) == 1
    assert sink.tls == [False]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_auth_goes_after_an_opportunistic_starttls(certificates: Certificates) -> None:
    """A URL that leaves STARTTLS optional still logs in, once the server upgraded."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates.cert_file, certificates.key_file)
    with server(tls_context=context) as (sink, controller):
        url = f"smtp://shop:p%40ss@127.0.0.1:{controller.port}"
        result = await send(url, ca_file=certificates.ca_file)

    assert result.outcome is Outcome.ACCEPTED, result.reason
    assert len(controller.auth_commands) == 1
    assert sink.tls == [True]


def test_a_user_with_starttls_off_is_refused_when_configured(tmp_path: Any) -> None:
    url = "smtp://shop:s3cret-pw@mail.example?starttls=0"
    with pytest.raises(SMTPURLError, match="insecure_auth=1") as caught:
        SMTPChannel(url)
    assert "s3cret-pw" not in str(caught.value)
    with pytest.raises(AdapterOptionsError, match="insecure_auth=1"):
        build_channel("smtp", {"url": url}, tmp_path)


@pytest.mark.parametrize(
    "url",
    [
        "smtps://shop:pw@mail.example",
        "smtp://shop:pw@mail.example?starttls=1",
        "smtp://shop:pw@mail.example",  # decided when connecting
        "smtp://mail.example?starttls=0",  # no credentials to protect
        "smtp://shop:pw@relay.internal?starttls=0&insecure_auth=1",
    ],
)
def test_urls_that_cannot_leak_credentials_are_accepted(url: str) -> None:
    SMTPChannel(url)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?insecure_auth=maybe", "insecure_auth must be 1 or 0"),
        ("?auth=1", "only 'starttls' and 'insecure_auth' are known"),
    ],
)
def test_a_bad_insecure_auth_value_is_refused(query: str, message: str) -> None:
    with pytest.raises(SMTPURLError, match=message):
        SMTPChannel(f"smtp://mail.example{query}")
