"""The visitor's address kept as consent evidence is an IP address or nothing.

uvicorn takes the client's address from `X-Forwarded-For` when the request comes from
a trusted proxy (`FORWARDED_ALLOW_IPS`, 127.0.0.1 by default), as written: a proxy
that passes on what the client sent, or any program on the machine, could make it a
hundred characters of text. That went into `consent_event.ip` (64 characters): a 500
on PostgreSQL, and text that is no address in the evidence on SQLite. On SQLite and
PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, select
from starlette.testclient import TestClient

from rapport.consent.links import links_for
from rapport.consent.store import grant
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.core.models import CONSENT_EVENT, CUSTOMER
from rapport.engine.web.app import create_app

SECRET = "a-test-secret-of-thirty-two-chars!"
NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)


def unsubscribe_from(engine: Engine, address: str) -> tuple[int, list[str | None]]:
    """Unsubscribe C1 from a client at ``address``: the status and the IPs recorded."""
    settings = Settings(secret_key=SECRET)
    with engine.begin() as connection:
        connection.execute(
            insert(CUSTOMER).values(
                id="C1", email="jane@example.com", locale="en", timezone="UTC", created_at=NOW
            )
        )
        grant(connection, "C1", "email", "offers", source="test")
    link = links_for("C1", "email", settings, Signer(SECRET))["unsubscribe"]
    path = link.removeprefix(settings.web.base_url.rstrip("/"))
    app = create_app(settings, engine, clock=lambda: NOW)
    with TestClient(app, client=(address, 50000), raise_server_exceptions=False) as client:
        status = client.post(path).status_code
    with engine.connect() as connection:
        query = select(CONSENT_EVENT.c.ip).where(CONSENT_EVENT.c.status == "withdrawn")
        return status, list(connection.execute(query).scalars())


@pytest.mark.parametrize("address", ["x" * 100, "not an address", "1.2.3.4.5"])
def test_a_client_address_that_is_no_ip_address_is_recorded_as_none(
    engine: Engine, address: str
) -> None:
    status, ips = unsubscribe_from(engine, address)
    assert status == 200
    assert ips == [None]


@pytest.mark.parametrize(
    ("address", "kept"), [("203.0.113.9", "203.0.113.9"), ("2001:DB8::1", "2001:db8::1")]
)
def test_a_client_ip_address_is_recorded(engine: Engine, address: str, kept: str) -> None:
    status, ips = unsubscribe_from(engine, address)
    assert status == 200
    assert ips == [kept]
