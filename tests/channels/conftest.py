"""Fixtures for the channel tests: real local servers and one harness per adapter.

The servers live in ``channel_servers.py`` and the harnesses in ``channel_harness.py``;
this file only wires them.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from aiosmtpd.controller import Controller
from channel_harness import (
    ConsoleHarness,
    FileHarness,
    Harness,
    HTTPSMSHarness,
    RecordingHarness,
    SMTPHarness,
    TwilioHarness,
    WebhookHarness,
)
from channel_servers import (
    SMSProviderServer,
    SMTPServer,
    SMTPSink,
    TwilioServer,
    WebhookReceiver,
    free_port,
)
from tls_material import Certificates, DKIMKey, make_certificates, make_dkim_key


def _smtp_server(sink: SMTPSink) -> Iterator[SMTPServer]:
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    server = SMTPServer(sink, controller)
    try:
        yield server
    finally:
        server.controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    yield from _smtp_server(SMTPSink())


@pytest.fixture
def pipelining_server() -> Iterator[SMTPServer]:
    """An SMTP server that offers PIPELINING (RFC 2920)."""
    yield from _smtp_server(SMTPSink(pipelining=True))


S = TypeVar("S", bound=SMSProviderServer)


def _serve(server: S) -> Iterator[S]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def sms_provider() -> Iterator[SMSProviderServer]:
    yield from _serve(SMSProviderServer())


@pytest.fixture
def twilio_server() -> Iterator[TwilioServer]:
    yield from _serve(TwilioServer())


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    yield from _serve(WebhookReceiver())


@pytest.fixture
def tls_webhook_receiver(certificates: Certificates) -> Iterator[WebhookReceiver]:
    """A webhook receiver on https://127.0.0.1, its certificate for localhost/127.0.0.1."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates.cert_file, certificates.key_file)
    yield from _serve(WebhookReceiver(tls=context))


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A throw-away CA and a server certificate for 127.0.0.1, made once per run."""
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> DKIMKey:
    """A 2048-bit RSA key and its DNS record, made once per run."""
    return make_dkim_key(tmp_path_factory.mktemp("dkim"))


@pytest.fixture
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    """The adapter named by the test's parameter, wired to its far side."""
    name = request.param
    made: Harness
    if name == "smtp":
        made = SMTPHarness(request.getfixturevalue("smtp_server"))
    elif name == "http_sms":
        made = HTTPSMSHarness(request.getfixturevalue("sms_provider"))
    elif name == "twilio":
        made = TwilioHarness(request.getfixturevalue("twilio_server"))
    elif name == "webhook":
        made = WebhookHarness(request.getfixturevalue("webhook_receiver"))
    elif name == "file":
        made = FileHarness(tmp_path / "outbox")
    elif name == "console":
        made = ConsoleHarness()
    elif name == "recording":
        made = RecordingHarness()
    else:  # pragma: no cover
        raise LookupError(name)
    async with made.channel:
        yield made
