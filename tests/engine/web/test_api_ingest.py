"""Ingest over the HTTP API (issue 19, point 2): customers, orders and consent checked
and written as the importer does, problems as JSON pointers with the valid items
kept, 401/403/413/422/429 as docs/api.md says, erased customers never re-created,
the same batch twice changing nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
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

ORDER = {
    "id": "O1",
    "customer_id": "C1",
    "sku": "TEA",
    "amount": "12.50",
    "currency": "EUR",
    "ordered_at": "2026-12-01T10:00:00Z",
}
GRANT = {
    "customer_id": "C1",
    "channel": "email",
    "topic": "newsletter",
    "status": "granted",
    "source": "checkout",
    "wording": "v3",
    "captured_at": "2026-12-06T11:00:00Z",
}


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
    orders = [ORDER, {**ORDER, "id": "O2", "customer_id": "NOBODY"}]
    answer = client.post("/api/v1/orders", json={"orders": orders}, headers=tokens["ingest"])
    assert answer.status_code == 422
    assert answer.json()["errors"] == ["/orders/1/customer_id: unknown customer"]
    assert count(engine, ORDERS) == 1
    grant = {key: value for key, value in GRANT.items() if key != "wording"}
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


def test_an_erased_customers_orders_and_consent_are_skipped_not_recorded(
    engine: Engine, app_and_tokens: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    """Their order history and consent are not refilled (issue 16, point 4): each item
    is listed under skipped with the day of the erasure, and the status stays 200."""
    client, tokens = app_and_tokens
    client.post("/api/v1/customers", json={"customers": [customer("C1")]}, headers=tokens["ingest"])
    with engine.begin() as connection:
        erase_customer(connection, "C1", NOW - timedelta(days=1))
    for kind, item in (("orders", ORDER), ("consent", GRANT)):
        answer = client.post(f"/api/v1/{kind}", json={kind: [item]}, headers=tokens["ingest"])
        assert answer.status_code == 200
        assert (answer.json()["accepted"], answer.json()["errors"]) == (0, [])
        assert answer.json()["skipped"] == [
            f"/{kind}/0/customer_id: skipped: erased on request on 2026-12-05"
        ]
    assert count(engine, ORDERS) == 0 and count(engine, CONSENT_EVENT) == 0


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


def test_consent_restating_a_recorded_fact_with_other_evidence_is_an_item_s_conflict(
    engine: Engine, app_and_tokens: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    """The recorded evidence is kept; each differing field is named, an address never shown."""
    client, tokens = app_and_tokens
    client.post("/api/v1/customers", json={"customers": [customer("C1")]}, headers=tokens["ingest"])
    headers = {**tokens["ingest"], "User-Agent": "Shop/2.0"}
    first = {**GRANT, "actor": "customer", "ip": "203.0.113.7"}
    client.post("/api/v1/consent", json={"consent": [first]}, headers=headers)
    items = [
        first,
        {**first, "wording": "v4", "ip": "198.51.100.9"},
        {**first, "topic": "offers"},
    ]
    answer = client.post("/api/v1/consent", json={"consent": items}, headers=headers)
    assert answer.status_code == 422
    found = answer.json()
    assert (found["accepted"], found["inserted"], found["unchanged"]) == (2, 1, 1)
    assert (found["conflicting"], found["rejected"]) == (1, 0)
    fact = (
        "for this fact (customer C1, email/newsletter granted through checkout at "
        "2026-12-06T11:00:00Z); the recorded evidence is kept"
    )
    assert found["errors"] == [
        f"/consent/1/wording: 'v4' differs from the recorded 'v3' {fact}",
        f"/consent/1/ip: differs from the one recorded {fact}",
    ]
    assert "198.51.100.9" not in answer.text and "203.0.113.7" not in answer.text
    with engine.connect() as connection:
        evidence = sorted(
            (row.topic, row.wording, row.ip) for row in connection.execute(select(CONSENT_EVENT))
        )
    assert evidence == [("newsletter", "v3", "203.0.113.7"), ("offers", "v3", "203.0.113.7")]


def test_a_customer_acts_item_retried_from_another_host_is_unchanged_not_a_conflict(
    engine: Engine, app_and_tokens: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    """The request's own address and agent, which the evidence takes when the item gives
    none, change with the host a retry comes from: they say nothing against the record."""
    client, tokens = app_and_tokens
    client.post("/api/v1/customers", json={"customers": [customer("C1")]}, headers=tokens["ingest"])
    item = {**GRANT, "actor": "customer"}
    first = client.post(
        "/api/v1/consent",
        json={"consent": [item]},
        headers={**tokens["ingest"], "User-Agent": "Shop/2.0", "X-Forwarded-For": "203.0.113.7"},
    )
    assert first.status_code == 200, first.text

    retry = client.post(
        "/api/v1/consent",
        json={"consent": [item]},
        headers={**tokens["ingest"], "User-Agent": "Shop-Retry/2.1"},
    )

    assert retry.status_code == 200, retry.text
    assert (retry.json()["unchanged"], retry.json()["conflicting"]) == (1, 0)
    with engine.connect() as connection:
        [agent] = connection.execute(select(CONSENT_EVENT.c.user_agent)).scalars()
    assert agent == "Shop/2.0"


def test_an_id_repeated_in_a_batch_warns_naming_both_items_and_the_counts_add_up(
    engine: Engine, app_and_tokens: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    """As ``rapport import`` does (docs/import.md): the later item wins, with a warning."""
    client, tokens = app_and_tokens
    people = [customer("C1"), customer("C2"), customer("C1", first_name="Bo")]
    answer = client.post("/api/v1/customers", json={"customers": people}, headers=tokens["ingest"])
    assert answer.status_code == 200
    result = answer.json()
    assert result["warnings"] == [
        "/customers/2: repeats the id of /customers/0; this later item wins"
    ]
    assert (result["accepted"], result["inserted"], result["repeated"]) == (3, 2, 1)
    counted = ("inserted", "updated", "unchanged", "repeated")
    assert result["accepted"] == sum(result[name] for name in counted)
    orders = [ORDER, {**ORDER, "customer_id": "C2"}]
    placed = client.post("/api/v1/orders", json={"orders": orders}, headers=tokens["ingest"])
    assert placed.json()["warnings"] == [
        "/orders/1: repeats the id of /orders/0; this later item wins"
    ]
    with engine.connect() as connection:
        assert (
            connection.execute(select(CUSTOMER.c.first_name).where(CUSTOMER.c.id == "C1")).scalar()
            == "Bo"
        )
        assert connection.execute(select(ORDERS.c.customer_id)).scalar() == "C2"


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00-12:00"],
)
def test_a_timestamp_out_of_range_is_one_item_s_error_and_the_batch_is_kept(
    engine: Engine, app_and_tokens: tuple[TestClient, dict[str, dict[str, str]]], moment: str
) -> None:
    """Year 1 at +14:00 or year 9999 at -12:00 overflow in the conversion to UTC: each a
    per-item error (never a 500), in every ingest kind; the other items written."""
    client, tokens = app_and_tokens
    items = {
        "customers": ([customer("C1"), customer("C2", created_at=moment)], "created_at"),
        "orders": ([{**ORDER, "id": "O0"}, {**ORDER, "ordered_at": moment}], "ordered_at"),
        "consent": ([GRANT, {**GRANT, "topic": "offers", "captured_at": moment}], "captured_at"),
    }
    for kind, (batch, field) in items.items():
        answer = client.post(f"/api/v1/{kind}", json={kind: batch}, headers=tokens["ingest"])
        assert answer.status_code == 422, kind
        (error,) = answer.json()["errors"]
        assert error.startswith(f"/{kind}/1/{field}: is out of range ("), error
        assert answer.json()["accepted"] == 1


def test_the_consent_ip_must_be_a_string_holding_an_ip_address(
    engine: Engine, app_and_tokens: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    client, tokens = app_and_tokens
    client.post("/api/v1/customers", json={"customers": [customer("C1")]}, headers=tokens["ingest"])
    by_customer = {**GRANT, "actor": "customer"}
    items = [{**by_customer, "ip": value} for value in (True, 2130706433, ["127.0.0.1"], "1.2.3")]
    answer = client.post("/api/v1/consent", json={"consent": items}, headers=tokens["ingest"])
    assert answer.json()["errors"] == [f"/consent/{i}/ip: not an IP address" for i in range(4)]
    assert count(engine, CONSENT_EVENT) == 0


def test_invisible_controls_are_refused_in_ids_sources_and_wordings_as_in_names(
    engine: Engine, app_and_tokens: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    """A right-to-left override (U+202E) or a zero-width space would make one id look
    like another, or reverse what a terminal prints after it; NUL and lone surrogates
    cannot be stored by PostgreSQL: every text field refuses them, naming the field."""
    client, tokens = app_and_tokens
    people = [
        customer("C5\u202e", email="c5@example.com"),
        customer("C6", first_name="Ada\u0000"),
        customer("C7", last_name="\ud800"),
        customer("C\u200b8", email="c8@example.com"),
        customer("C1"),
    ]
    body = json.dumps({"customers": people})
    answer = client.post("/api/v1/customers", content=body, headers=tokens["ingest"])
    assert answer.json()["errors"] == [
        "/customers/0/id: contains the invisible format character U+202E; remove it",
        "/customers/1/first_name: contains control characters or line breaks",
        "/customers/2/last_name: contains control characters or line breaks",
        "/customers/3/id: contains the invisible format character U+200B; remove it",
    ]
    orders = [{**ORDER, "sku": "TEA\u0000"}, {**ORDER, "id": "O\u202e2"}]
    placed = client.post("/api/v1/orders", json={"orders": orders}, headers=tokens["ingest"])
    assert placed.json()["errors"] == [
        "/orders/0/sku: contains control characters or line breaks",
        "/orders/1/id: contains the invisible format character U+202E; remove it",
    ]
    grants = [{**GRANT, "source": "check\u202eout"}, {**GRANT, "wording": "v\u202e1"}]
    consent = client.post("/api/v1/consent", json={"consent": grants}, headers=tokens["ingest"])
    assert consent.json()["errors"] == [
        "/consent/0/source: contains the invisible format character U+202E; remove it",
        "/consent/1/wording: contains the invisible format character U+202E; remove it",
    ]
    assert count(engine, CUSTOMER) == 1 and count(engine, CONSENT_EVENT) == 0


def test_a_body_with_another_key_beside_its_kind_is_422_and_nothing_is_written(
    engine: Engine, app_and_tokens: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    """`{"customers": [...], "orders": [...]}` to /api/v1/customers wrote the customers,
    answered 200 with nothing but their counts, and dropped every order unsaid: the
    caller had no way to know. The body is exactly `{"customers": [...]}`."""
    client, tokens = app_and_tokens
    body = {"customers": [customer("C1")], "orders": [ORDER]}
    answer = client.post("/api/v1/customers", json=body, headers=tokens["ingest"])

    assert answer.status_code == 422
    assert answer.json() == {
        "error": 'the body must be {"customers": [...]} and nothing else: unknown key "orders"'
    }
    assert count(engine, CUSTOMER) == 0 and count(engine, ORDERS) == 0


def test_an_id_that_is_a_number_with_a_fraction_or_exponent_is_422_naming_the_field(
    engine: Engine, app_and_tokens: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    """`"id": 1e999` was stored as the customer "1E+999", `1E2` as "1E+2" while `100`
    is "100", `1e-999` as "1E-999": an id must be a string or a whole number written
    as one, else the item is refused naming its field, and nothing of it is written."""
    client, tokens = app_and_tokens
    written = ["1e999", "1e-999", "1.5", "1E2", "100.0", "100"]
    people = [
        f'{{"id": {n}, "email": "c{i}@example.com", "locale": "en", "timezone": "UTC"}}'
        for i, n in enumerate(written)
    ]
    body = f'{{"customers": [{", ".join(people)}]}}'
    answer = client.post("/api/v1/customers", content=body, headers=tokens["ingest"])

    assert answer.status_code == 422
    reason = "must be a string or a whole number (an integer without a fraction or exponent)"
    assert answer.json()["errors"] == [f"/customers/{i}/id: {reason}" for i in range(5)]
    with engine.connect() as connection:
        assert connection.execute(select(CUSTOMER.c.id)).scalars().all() == ["100"]
    order = json.dumps(ORDER).replace('"C1"', "1e2")
    placed = client.post(
        "/api/v1/orders", content=f'{{"orders": [{order}]}}', headers=tokens["ingest"]
    )
    assert placed.json()["errors"] == [f"/orders/0/customer_id: {reason}"]
