"""A key an ingest item has that the endpoint does not read is named in a warning.

The import names every column or JSON Lines key it does not read (docs/import.md,
'ignored unknown column'), and docs/api.md says the import's behaviour holds for the
API; an item's unknown key was dropped without a word, so a misspelt ``emial`` stored
a customer without the address and answered 200 with no warning. The item is still
written (a warning does not change the status) and at most 20 keys are named, however
many a body holds. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from factories import REPO
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from rapport.engine.core.config import Settings
from rapport.engine.core.models import CUSTOMER
from rapport.engine.web.api_tokens import create_token
from rapport.engine.web.app import create_app

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SARA = {"id": "C1", "locale": "en", "timezone": "Europe/London"}


@pytest.fixture
def client_and_token(engine: Engine) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(base_dir=REPO, secret_key="test")
    web = settings.web.model_copy(update={"max_body_bytes": 1024 * 1024})
    app = create_app(settings.model_copy(update={"web": web}), engine, clock=lambda: NOW)
    token = {"Authorization": f"Bearer {create_token(engine, 'shop', 'ingest', NOW)}"}
    with TestClient(app) as client:
        yield client, token


def test_a_misspelt_key_is_named_in_a_warning_and_the_item_written(
    engine: Engine, client_and_token: tuple[TestClient, dict[str, str]]
) -> None:
    client, token = client_and_token
    item = {**SARA, "emial": "sara@example.com"}
    answer = client.post("/api/v1/customers", json={"customers": [item]}, headers=token)
    assert answer.status_code == 200
    assert answer.json()["inserted"] == 1
    assert answer.json()["warnings"] == [
        "/customers/0/emial: unknown key, ignored; is it meant to be email?"
    ]
    with engine.connect() as connection:
        assert connection.execute(select(CUSTOMER.c.email)).scalars().all() == [None]


def test_at_most_20_unknown_keys_are_named_whatever_the_body_holds(
    client_and_token: tuple[TestClient, dict[str, str]],
) -> None:
    client, token = client_and_token
    items = [{**SARA, "id": f"C{n}", **{f"k{n}_{k}": 1 for k in range(500)}} for n in range(20)]
    answer = client.post("/api/v1/customers", json={"customers": items}, headers=token)
    assert answer.status_code == 200
    warnings = answer.json()["warnings"]
    assert len(warnings) == 20
    assert warnings[0] == "/customers/0/k0_0: unknown key, ignored"


def test_the_keys_each_endpoint_reads_are_not_warned_about(
    client_and_token: tuple[TestClient, dict[str, str]],
) -> None:
    client, token = client_and_token
    grant = {
        "customer_id": "C1",
        "channel": "email",
        "topic": "newsletter",
        "status": "granted",
        "source": "checkout",
        "wording": "v3",
        "captured_at": "2026-12-06T11:00:00Z",
        "actor": "customer",
        "ip": "192.0.2.1",
        "user_agent": "Shop/1.0",
    }
    event = {
        "id": "E1",
        "customer_id": "C1",
        "name": "order_shipped",
        "occurred_at": "2026-12-06T10:00:00Z",
        "data": {"carrier": "DHL"},
    }
    for kind, item in (("customers", SARA), ("consent", grant), ("events", event)):
        answer = client.post(f"/api/v1/{kind}", json={kind: [item]}, headers=token)
        assert (kind, answer.status_code, answer.json()["warnings"]) == (kind, 200, [])


def test_an_unknown_key_of_an_event_is_named(
    client_and_token: tuple[TestClient, dict[str, str]],
) -> None:
    client, token = client_and_token
    client.post("/api/v1/customers", json={"customers": [SARA]}, headers=token)
    event = {
        "id": "E1",
        "customer_id": "C1",
        "name": "order_shipped",
        "occurred_at": "2026-12-06T10:00:00Z",
        "dat": {"carrier": "DHL"},
    }
    answer = client.post("/api/v1/events", json={"events": [event]}, headers=token)
    assert answer.json()["warnings"] == [
        "/events/0/dat: unknown key, ignored; is it meant to be data?"
    ]
