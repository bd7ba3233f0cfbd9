"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests create a uniquely named database and drop it afterwards. Outside CI
an unreachable server skips them; in CI (CI=true) it fails, so a green CI run always
includes PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from rapport.engine.core.db import make_engine, upgrade

PG_ADMIN_URL = os.environ.get(
    "RAPPORT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REPO = Path(__file__).resolve().parent.parent


def _postgres_admin() -> Engine:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:  # any connection failure means "no server"
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    return admin


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped after the test."""
    admin = _postgres_admin()
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rapport.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database of each kind."""
    db = make_engine(database_url)
    upgrade(db)
    try:
        yield db
    finally:
        db.dispose()


class SMTPSink:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[dict[str, object]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        import email
        import email.policy

        content = envelope.content  # type: ignore[attr-defined]
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        self.messages.append(
            {
                "mail_from": envelope.mail_from,  # type: ignore[attr-defined]
                "rcpt_tos": list(envelope.rcpt_tos),  # type: ignore[attr-defined]
                "message": parsed,
            }
        )
        return "250 OK"

    def message_ids(self) -> list[str]:
        return [str(m["message"]["Message-ID"]) for m in self.messages]  # type: ignore[index]


@pytest.fixture
def smtp_sink() -> Iterator[tuple[SMTPSink, int]]:
    """A running SMTP sink and its port."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = SMTPSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


CHROMIUM = os.environ.get("RAPPORT_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's headless Chromium driven by Playwright (no browser download needed).

    Module-scoped: Playwright's sync API keeps an event loop running in this thread
    while it lives, which would stop later async tests from starting their own.
    """
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required in CI (scripts/test.sh installs it)")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield instance
        finally:
            instance.close()


class SMSSink:
    """A real HTTP SMS provider on loopback that honours idempotency keys.

    ``script`` holds status codes to answer next (then 200); a repeated idempotency
    key is accepted again but not delivered twice, as real providers do.
    """

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.script: list[int] = []
        self.requests: list[dict[str, object]] = []
        self.delivered: dict[str, dict[str, object]] = {}
        self.duplicates = 0
        self.server: object = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/sms"  # type: ignore[attr-defined]


@pytest.fixture
def sms_sink() -> Iterator[SMSSink]:
    import json
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    sink = SMSSink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = self.headers.get("Idempotency-Key") or body.get("idempotency_key")
            with sink.lock:
                sink.requests.append({"key": key, "at": time.monotonic(), "body": body})
                status = sink.script.pop(0) if sink.script else 200
                if status == 200:
                    if key in sink.delivered:
                        sink.duplicates += 1
                    else:
                        sink.delivered[key] = body
            payload = json.dumps({"id": f"msg-{key}"} if status == 200 else {"error": "x"})
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload.encode())

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
