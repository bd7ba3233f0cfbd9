"""SMTP over TLS (STARTTLS and implicit) and AUTH, against aiosmtpd with a test CA."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from channel_servers import SMTPSink, free_port
from tls_material import Certificates

from rapport.channels import AdapterOptionsError, Outcome, OutgoingMessage, SMTPChannel
from rapport.channels import build_channel as build

MAIL = OutgoingMessage(
    idempotency_key="k:tls", kind="email", to="someone@example.com", subject="Hi", text="Hi\n"
)


def server_context(certificates: Certificates) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates.cert_file, certificates.key_file)
    return context


class Authenticator:
    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        self.logins.append(data.login.decode())
        return AuthResult(success=data.password == b"p@ss", handled=False)


@contextmanager
def serving(**kwargs: Any) -> Iterator[tuple[SMTPSink, int]]:
    sink = SMTPSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    try:
        yield sink, controller.port
    finally:
        controller.stop()


async def send(url: str, **options: Any) -> Any:
    async with SMTPChannel(url, timeout=5, **options) as channel:
        return await channel.send(MAIL)


@pytest.mark.parametrize("starttls", ["?starttls=1", ""], ids=["required", "opportunistic"])
async def test_starttls_with_a_ca_file(certificates: Certificates, starttls: str) -> None:
    with serving(tls_context=server_context(certificates), require_starttls=True) as (sink, port):
        result = await send(f"smtp://127.0.0.1:{port}{starttls}", ca_file=certificates.ca_file)

    assert result.outcome is Outcome.ACCEPTED, result.reason
    assert sink.tls == [True]


async def test_implicit_tls_with_a_ca_file(certificates: Certificates) -> None:
    with serving(ssl_context=server_context(certificates)) as (sink, port):
        result = await send(f"smtps://127.0.0.1:{port}", ca_file=certificates.ca_file)

    assert result.outcome is Outcome.ACCEPTED, result.reason
    assert sink.tls == [True]


async def test_tls_verify_false_accepts_an_unknown_certificate(certificates: Certificates) -> None:
    with serving(tls_context=server_context(certificates), require_starttls=True) as (sink, port):
        result = await send(f"smtp://127.0.0.1:{port}?starttls=1", tls_verify=False)

    assert result.outcome is Outcome.ACCEPTED, result.reason
    assert sink.tls == [True]


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
async def test_an_unknown_certificate_is_refused_by_default(
    certificates: Certificates, scheme: str
) -> None:
    tls = (
        {"ssl_context": server_context(certificates)}
        if scheme == "smtps"
        else {"tls_context": server_context(certificates), "require_starttls": True}
    )
    query = "" if scheme == "smtps" else "?starttls=1"
    with serving(**tls) as (sink, port):
        result = await send(f"{scheme}://127.0.0.1:{port}{query}")

    assert result.outcome is Outcome.TRANSIENT  # a connection failure, not the message's
    assert not result.reached
    assert sink.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
@pytest.mark.parametrize(("password", "outcome"), [("p%40ss", "accepted"), ("nope", "transient")])
async def test_auth_over_tls(
    certificates: Certificates, scheme: str, password: str, outcome: str
) -> None:
    authenticator = Authenticator()
    # aiosmtpd cannot tell that an implicit-TLS socket is encrypted, so it would not
    # offer AUTH there unless told TLS is not required; the sink checks TLS itself.
    tls = (
        {"ssl_context": server_context(certificates), "auth_require_tls": False}
        if scheme == "smtps"
        else {"tls_context": server_context(certificates), "require_starttls": True}
    )
    query = "" if scheme == "smtps" else "?starttls=1"
    with serving(authenticator=authenticator, auth_required=True, **tls) as (sink, port):
        url = f"{scheme}://shop:{password}@127.0.0.1:{port}{query}"
        result = await send(url, ca_file=certificates.ca_file)

    assert result.outcome == outcome, result.reason
    assert set(authenticator.logins) == {"shop"}  # a refused client tries each mechanism
    assert sink.tls == ([True] if outcome == "accepted" else [])
    assert result.reached is (outcome == "accepted")
    assert "nope" not in (result.reason or "")


def test_ca_file_resolves_against_the_config_directory(
    certificates: Certificates, tmp_path: Path
) -> None:
    channel = build(
        "smtp",
        {"url": "smtp://h?starttls=1", "ca_file": certificates.ca_file.name},
        certificates.ca_file.parent,
    )

    assert isinstance(channel, SMTPChannel)
    assert channel.ca_file == str(certificates.ca_file)
    with pytest.raises(AdapterOptionsError, match="ca_file"):
        build("smtp", {"url": "smtp://h", "ca_file": "missing.pem"}, tmp_path)


def test_repr_shows_tls_options_not_the_password(certificates: Certificates) -> None:
    shown = repr(SMTPChannel("smtps://u:pw-S3CRET@h", ca_file=certificates.ca_file))

    assert "pw-S3CRET" not in shown
    assert "smtps://u:***@h" in shown
    assert "tls_verify=True" in shown and "ca.pem" in shown
