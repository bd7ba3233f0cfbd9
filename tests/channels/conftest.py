"""Fixtures for the channel tests: real local servers and one harness per adapter.

The servers and harnesses live in ``channel_harness.py``; this file only wires them.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from channel_harness import (
    ConsoleHarness,
    FileHarness,
    Harness,
    HTTPSMSHarness,
    RecordingHarness,
    SMSProviderServer,
    SMTPHarness,
    SMTPServer,
    SMTPSink,
    free_port,
)


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    sink = SMTPSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    server = SMTPServer(sink, controller)
    try:
        yield server
    finally:
        server.controller.stop()


@pytest.fixture
def sms_provider() -> Iterator[SMSProviderServer]:
    server = SMSProviderServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    """The adapter named by the test's parameter, wired to its far side."""
    name = request.param
    made: Harness
    if name == "smtp":
        made = SMTPHarness(request.getfixturevalue("smtp_server"))
    elif name == "http_sms":
        made = HTTPSMSHarness(request.getfixturevalue("sms_provider"))
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
