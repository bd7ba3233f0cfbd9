"""What providers echo back never reaches ``last_error``, the logs or the dispatch report.

A real SMTP server (aiosmtpd, AUTH on loopback with ``insecure_auth=1``) and a real
HTTP SMS provider refuse the daemon's messages with replies that repeat the channel's
password and token, a signed link, the customer's address and number; the dispatcher
runs as ``rapport dispatch`` runs it, with the channels built from the settings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from channel_servers import Reply, SMSProviderServer, SMTPSink, free_port
from factories import PERSIAN, seed_due_messages
from sqlalchemy import select

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core.config import ChannelConfig, Settings
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import OUTBOX
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.delivery.lanes import build_channels

PASSWORD = "smtp-pw-S3cret"
SMS_TOKEN = "sms-token-S3cret"
LINK = Signer("another").sign(Purpose.UNSUBSCRIBE, TokenClaims("K0000", "email", "offers"))
#: The seeded customer's address and number (factories.seed_due_messages, PERSIAN).
ADDRESS, PHONE = "k0@example.com", "+989120000000"
#: Each provider repeats its own channel's secret (a channel knows only its own).
SMTP_ECHO = f"550 5.1.1 <{ADDRESS}> {PHONE} {PASSWORD} /unsubscribe/{LINK}"
SMS_ECHO = f"{ADDRESS} {PHONE} {SMS_TOKEN} /unsubscribe/{LINK}"
LEAKS = (PASSWORD, SMS_TOKEN, LINK, ADDRESS, PHONE, "9120000000")


def _login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    return AuthResult(success=data.password == PASSWORD.encode(), handled=False)


@pytest.fixture
def smtp_echo() -> Iterator[int]:
    sink = SMTPSink()
    sink.rcpt_replies.append(SMTP_ECHO)
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=_login,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture
def sms_echo() -> Iterator[SMSProviderServer]:
    server = SMSProviderServer()
    server.replies.append(Reply(400, {"error": SMS_ECHO}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_echoed_credentials_tokens_and_addresses_are_stored_and_logged_redacted(
    migrated_url: str,
    tmp_path: Path,
    smtp_echo: int,
    sms_echo: SMSProviderServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seed_due_messages(migrated_url, 2, 1, PERSIAN, "echo")  # one e-mail, one SMS
    smtp_url = f"smtp://shop:{PASSWORD}@127.0.0.1:{smtp_echo}?starttls=0&insecure_auth=1"
    settings = Settings(
        base_dir=tmp_path,
        secret_key="k",
        quiet_hours={},
        channels={
            "email": ChannelConfig(adapter="smtp", kind="email", url=smtp_url, timeout=5),
            "sms": ChannelConfig(adapter="http_sms", kind="sms", url=sms_echo.url, token=SMS_TOKEN),
        },
    )
    engine = make_engine(migrated_url)
    try:
        dispatcher = Dispatcher(engine, settings, build_channels(settings), Signer("k"))
        with caplog.at_level(logging.DEBUG, logger="rapport"):
            report = await dispatcher.run_once()
            await dispatcher.aclose()
        with engine.connect() as connection:
            stored = connection.execute(select(OUTBOX.c.channel, OUTBOX.c.last_error)).all()
    finally:
        engine.dispose()

    errors = {channel: error for channel, error in stored}
    assert errors == {
        "email": "550 5.1.1 <[email]> [phone] *** /unsubscribe/[token]",
        "sms": "HTTP 400 [email] [phone] *** /unsubscribe/[token]",
    }
    texts = [*errors.values(), *(r.getMessage() for r in caplog.records)]
    texts += [reason for (_, _, reason) in report.reasons]
    for text in texts:
        for leak in LEAKS:
            assert leak not in text, (leak, text)
