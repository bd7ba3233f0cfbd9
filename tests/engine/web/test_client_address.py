"""The visitor's address and browser kept as consent evidence fit their columns.

uvicorn takes the client's address from `X-Forwarded-For` when the request comes from
a trusted proxy (`FORWARDED_ALLOW_IPS`, 127.0.0.1 by default), as written: a proxy
that passes on what the client sent, or any program on the machine, could make it a
hundred characters of text. That went into `consent_event.ip` (64 characters): a 500
on PostgreSQL, and text that is no address in the evidence on SQLite. A `User-Agent`
is whatever the client sends, up to the header limit (16 KiB): past the column's 500
characters it was a 500 on PostgreSQL too. On SQLite and PostgreSQL.
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


def unsubscribe_from(
    engine: Engine, address: str, agent: str = "Mozilla/5.0"
) -> tuple[int, list[str | None]]:
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
        status = client.post(path, headers={"User-Agent": agent}).status_code
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


def test_a_user_agent_longer_than_the_evidence_keeps_is_cut_to_500_characters(
    engine: Engine,
) -> None:
    agent = "Mozilla/5.0 " + "x" * 2000
    status, _ = unsubscribe_from(engine, "203.0.113.9", agent)
    assert status == 200
    with engine.connect() as connection:
        query = select(CONSENT_EVENT.c.user_agent).where(CONSENT_EVENT.c.status == "withdrawn")
        assert connection.execute(query).scalar_one() == agent[:500]
