"""Ingest over the HTTP API (issue 19, point 2): customers, orders and consent checked
and written as the importer does, problems as JSON pointers with the valid items
kept, 401/403/413/422/429 as docs/api.md says, erased customers never re-created,
the same batch twice changing nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from factories import REPO
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from rapport.consent.privacy import erase_customer
from rapport.engine.core.config import Settings
from rapport.engine.core.models import CONSENT_EVENT, CUSTOMER, ORDERS
from rapport.engine.web.api_tokens import create_token
from rapport.engine.web.app import create_app
from rapport.engine.web.ratelimit import RateLimiter

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def customer(ident: str, **extra: str) -> dict[str, str]:
    return {
        "id": ident,
        "first_name": "Ada",
        "email": f"{ident.lower()}@example.com",
        "locale": "en",
        "timezone": "Europe/London",
        **extra,
    }


@pytest.fixture
def app_and_tokens(engine: Engine) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    settings = Settings(base_dir=REPO, secret_key="test")
    web = settings.web.model_copy(update={"max_body_bytes": 1024 * 1024})
    app = create_app(settings.model_copy(update={"web": web}), engine, clock=lambda: NOW)
    tokens = {
        scope: {"Authorization": f"Bearer {create_token(engine, scope, scope, NOW)}"}
        for scope in ("ingest", "read")
    }
    with TestClient(app) as client:
        yield client, tokens


def count(engine: Engine, table: object, *where: object) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(table).where(*where)).scalar()
        )  # type: ignore[arg-type]


def test_valid_customers_are_written_and_invalid_ones_named_by_json_pointer(
    engine: Engine, app_and_tokens: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    client, tokens = app_and_tokens
    batch = [
        customer("C1"),
        customer("C2"),
        7,
        customer("C3", email="not-an-address"),
        {"id": "C4"},
    ]
    answer = client.post("/api/v1/customers", json={"customers": batch}, headers=tokens["ingest"])
    assert answer.status_code == 422
    result = answer.json()
    assert (result["accepted"], result["inserted"], result["rejected"]) == (2, 2, 3)
    assert "/customers/2: not a JSON object" in result["errors"]
    assert any(e.startswith("/customers/3/email: ") for e in result["errors"])
    assert "/customers/4/locale: is required" in result["errors"]
    assert count(engine, CUSTOMER) == 2
    again = client.post(
        "/api/v1/customers", json={"customers": batch[:2]}, headers=tokens["ingest"]
    )
    assert again.status_code == 200
    assert (again.json()["unchanged"], again.json()["inserted"]) == (2, 0)


def test_orders_and_consent_use_the_import_rules_and_consent_needs_a_wording(
    engine: Engine, app_and_tokens: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    client, tokens = app_and_tokens
    client.post("/api/v1/customers", json={"customers": [customer("C1")]}, headers=tokens["ingest"])
    order = {
        "id": "O1",
        "customer_id": "C1",
        "sku": "TEA",
        "amount": "12.50",
        "currency": "EUR",
        "ordered_at": "2026-12-01T10:00:00Z",
    }
    orders = [order, {**order, "id": "O2", "customer_id": "NOBODY"}]
    answer = client.post("/api/v1/orders", json={"orders": orders}, headers=tokens["ingest"])
    assert answer.status_code == 422
    assert answer.json()["errors"] == ["/orders/1/customer_id: unknown customer"]
    assert count(engine, ORDERS) == 1
    grant = {
        "customer_id": "C1",
        "channel": "email",
        "topic": "newsletter",
        "status": "granted",
        "source": "checkout",
        "captured_at": "2026-12-06T11:00:00Z",
    }
    no_wording = client.post("/api/v1/consent", json={"consent": [grant]}, headers=tokens["ingest"])
    assert no_wording.json()["errors"] == ["/consent/0/wording: is required"]
    assert count(engine, CONSENT_EVENT) == 0
    worded = [{**grant, "wording": "v3"}]
    ok = client.post("/api/v1/consent", json={"consent": worded}, headers=tokens["ingest"])
    assert ok.status_code == 200 and ok.json()["inserted"] == 1
    assert count(engine, CONSENT_EVENT) == 1


def test_an_erased_customer_is_never_re_created(
    engine: Engine, app_and_tokens: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    client, tokens = app_and_tokens
    client.post("/api/v1/customers", json={"customers": [customer("C1")]}, headers=tokens["ingest"])
    with engine.begin() as connection:
        erase_customer(connection, "C1", NOW - timedelta(days=1))
    answer = client.post(
        "/api/v1/customers", json={"customers": [customer("C1")]}, headers=tokens["ingest"]
    )
    assert answer.status_code == 200
    assert answer.json()["accepted"] == 0
    assert answer.json()["skipped"] == ["/customers/0/id: skipped: erased on request on 2026-12-05"]
    with engine.connect() as connection:
        row = connection.execute(select(CUSTOMER).where(CUSTOMER.c.id == "C1")).one()
    assert row.erased_at is not None and row.email is None


def test_refusals_401_403_413_422_400_and_429(
    engine: Engine, app_and_tokens: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    client, tokens = app_and_tokens
    url, body = "/api/v1/customers", {"customers": [customer("C1")]}
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers=tokens["read"]).status_code == 403
    too_many = {"customers": [customer(f"C{i}") for i in range(1001)]}
    big = client.post(url, json=too_many, headers=tokens["ingest"])
    assert big.status_code == 413
    assert big.json() == {"error": "at most 1000 customers per request"}
    huge = client.post(url, content=b"{" + b" " * 1_100_000 + b"}", headers=tokens["ingest"])
    assert huge.status_code == 413
    assert client.post(url, json={"orders": []}, headers=tokens["ingest"]).status_code == 422
    assert client.post(url, content=b"{no", headers=tokens["ingest"]).status_code == 400
    assert count(engine, CUSTOMER) == 0
    client.app.state.api_limiter = RateLimiter(2, timedelta(minutes=1), clock=lambda: NOW)  # type: ignore[attr-defined]
    assert client.post(url, json=body, headers=tokens["ingest"]).status_code == 200
    assert client.post(url, json=body, headers=tokens["ingest"]).status_code == 200
    limited = client.post(url, json=body, headers=tokens["ingest"])
    assert limited.status_code == 429 and limited.headers["retry-after"] == "60"


def test_consent_by_the_customer_keeps_their_address_and_agent_as_evidence(
    engine: Engine, app_and_tokens: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    client, tokens = app_and_tokens
    client.post(
        "/api/v1/customers",
        json={"customers": [customer("C1"), customer("C2"), customer("C3")]},
        headers=tokens["ingest"],
    )
    grant = {
        "channel": "email",
        "topic": "newsletter",
        "status": "granted",
        "source": "checkout",
        "wording": "v3",
        "captured_at": "2026-12-06T11:00:00Z",
    }
    items = [
        {**grant, "customer_id": "C1", "actor": "customer", "ip": "203.0.113.7"},
        {**grant, "customer_id": "C2"},
        {**grant, "customer_id": "C3", "actor": "customer", "ip": "nowhere"},
        {**grant, "customer_id": "C3", "actor": "robot"},
    ]
    headers = {**tokens["ingest"], "User-Agent": "Shop/2.0"}
    answer = client.post("/api/v1/consent", json={"consent": items}, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        "/consent/2/ip: not an IP address",
        "/consent/3/actor: must be one of system, customer",
    ]
    with engine.connect() as connection:
        evidence = {
            row.customer_id: (row.ip, row.user_agent)
            for row in connection.execute(select(CONSENT_EVENT))
        }
    assert evidence == {"C1": ("203.0.113.7", "Shop/2.0"), "C2": (None, None)}
