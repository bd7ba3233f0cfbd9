"""A page that waits for the database waits alone: the other requests go on.

A customer's save, confirmation, unsubscribe or feedback waits while another writer
holds what it must write (on SQLite the database's write lock, up to its 30-second
busy timeout; on PostgreSQL the customer's row, which planning holds while it plans
the customer's batch). That wait must not stop the web app: every other customer's
pages and the probes (/healthz) answer meanwhile, as they do while a webhook or an
API call waits.

Each test runs the real server (uvicorn) on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.web.app import create_app
from rapport.engine.web.server import BackgroundServer
from tests.engine.web.conftest import FakeClock, add_customer, record, webhook_settings

SECRET = "test"  # webhook_settings()'s secret_key

#: What each waiting page is sent: (purpose, form).
WRITES = {
    "preference save": (Purpose.PREFERENCES, {"email:birthday": "on"}),
    "confirmation": (Purpose.CONFIRM, {}),
    "unsubscribe": (Purpose.UNSUBSCRIBE, {}),
    "feedback": (Purpose.FEEDBACK, {"score": "9"}),
}


@pytest.fixture
def server(engine: Engine, clock: FakeClock) -> Iterator[BackgroundServer]:
    running = BackgroundServer(create_app(webhook_settings(), engine, clock=clock)).start()
    try:
        yield running
    finally:
        running.stop()


def token_path(purpose: Purpose, customer_id: str) -> str:
    topic = "feedback:O1" if purpose is Purpose.FEEDBACK else None
    token = Signer(SECRET).sign(purpose, TokenClaims(customer_id, "email", topic))
    return f"/{purpose.value}/{token}"


@pytest.mark.parametrize("page", WRITES)
def test_a_page_waiting_for_the_database_does_not_hold_up_other_requests(
    engine: Engine, server: BackgroundServer, page: str
) -> None:
    add_customer(engine, "c1", email="c1@example.com")
    record(engine, "c1", "email", ["offers"])
    purpose, form = WRITES[page]
    answers: list[int] = []
    with engine.connect() as holder:
        # Another writer holds the customer's row (and, on SQLite, the write lock).
        holder.execute(text("UPDATE customer SET first_name = 'x' WHERE id = 'c1'"))

        def send() -> None:
            path = server.url + token_path(purpose, "c1")
            answers.append(httpx.post(path, data=form, timeout=60).status_code)

        waiting = threading.Thread(target=send)
        waiting.start()
        time.sleep(0.5)  # the page is now waiting for the database
        try:
            started = time.monotonic()
            probe = httpx.get(server.url + "/healthz", timeout=5)
            took = time.monotonic() - started
        finally:
            holder.rollback()
        waiting.join(timeout=30)

    assert probe.status_code == 200
    assert took < 2, f"/healthz took {took:.1f} s while a {page} waited for the database"
    assert answers == [200]
