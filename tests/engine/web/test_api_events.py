"""POST /api/v1/events (issue 19, point 2): events checked item by item with problems
as JSON pointers and the valid ones kept, the same event twice changing nothing,
erased customers refused and never re-created, 403/413 as for every ingest endpoint,
and events pruned after ``retention.event_days``. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import REPO, insert_customer
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from rapport.consent.privacy import erase_customer, export_customer
from rapport.engine.core.config import Settings
from rapport.engine.core.models import CUSTOMER, CUSTOMER_EVENT
from rapport.engine.customers.events import prune_events
from rapport.engine.web.api_tokens import create_token
from rapport.engine.web.app import create_app

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
URL = "/api/v1/events"
Client = tuple[TestClient, dict[str, dict[str, str]]]


def shipped(ident: str = "S-1", customer: str = "C1", **changes: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "customer_id": customer,
        "name": "order_shipped",
        "occurred_at": "2026-12-05T09:00:00Z",
        "data": {"carrier": "DHL", "weight_kg": 1.25},
        **changes,
    }


@pytest.fixture
def api(engine: Engine) -> Iterator[Client]:
    settings = Settings(base_dir=REPO, secret_key="test")
    web = settings.web.model_copy(update={"max_body_bytes": 1024 * 1024})
    app = create_app(settings.model_copy(update={"web": web}), engine, clock=lambda: NOW)
    tokens = {
        scope: {"Authorization": f"Bearer {create_token(engine, scope, scope, NOW)}"}
        for scope in ("ingest", "read")
    }
    insert_customer(engine, "C1", email="c1@example.com", locale="en")
    with TestClient(app) as client:
        yield client, tokens


def stored(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(CUSTOMER_EVENT).order_by(CUSTOMER_EVENT.c.id)))


def test_a_valid_event_is_recorded_with_its_data(engine: Engine, api: Client) -> None:
    client, tokens = api
    answer = client.post(URL, json={"events": [shipped()]}, headers=tokens["ingest"])
    assert answer.status_code == 200
    assert answer.json() == {
        "accepted": 1,
        "inserted": 1,
        "updated": 0,
        "unchanged": 0,
        "repeated": 0,
        "rejected": 0,
        "skipped": [],
        "errors": [],
        "warnings": [],
    }
    (row,) = stored(engine)
    assert (row.customer_id, row.name, row.event_key) == ("C1", "order_shipped", "S-1")
    assert row.occurred_at == datetime(2026, 12, 5, 9, tzinfo=UTC)
    assert row.data == '{"carrier":"DHL","weight_kg":1.25}'


def test_invalid_items_are_named_by_json_pointer_and_the_valid_ones_kept(
    engine: Engine, api: Client
) -> None:
    client, tokens = api
    batch = [
        shipped("S-1"),
        "not an object",
        shipped("S-3", name="Order Shipped"),
        shipped("S-4", occurred_at="2026-12-05T09:00:00"),
        shipped("S-5", occurred_at="2026-12-08T09:00:00Z"),
        shipped("S-6", occurred_at="2024-01-01T09:00:00Z"),
        shipped("S-7", data=["a", "list"]),
        shipped("S-8", data={"note": "x" * 5000}),
        shipped("S-9", customer="NOBODY"),
        {"customer_id": "C1"},
    ]
    answer = client.post(URL, json={"events": batch}, headers=tokens["ingest"])
    assert answer.status_code == 422
    result = answer.json()
    assert (result["accepted"], result["inserted"], result["rejected"]) == (1, 1, 9)
    errors = result["errors"]
    assert "/events/1: not a JSON object" in errors
    assert any(e.startswith("/events/2/name: must be a lower-case letter") for e in errors)
    assert "/events/3/occurred_at: needs a UTC offset or Z (e.g. 2026-12-01T10:00Z)" in errors
    assert any(
        e.startswith("/events/4/occurred_at: is more than a day in the future") for e in errors
    )
    assert any(
        e.startswith("/events/5/occurred_at: is older than the event retention") for e in errors
    )
    assert "/events/6/data: must be a JSON object" in errors
    assert "/events/7/data: is over 4096 bytes as JSON" in errors
    assert "/events/8/customer_id: unknown customer" in errors
    assert "/events/9/id: is required" in errors and "/events/9/name: is required" in errors
    assert [row.event_key for row in stored(engine)] == ["S-1"]


def test_data_a_database_cannot_store_is_refused_with_its_pointer_on_both_databases(
    engine: Engine, api: Client
) -> None:
    """NUL (PostgreSQL's text cannot hold it) or a lone surrogate, in a value or a key,
    at any depth: the item is refused naming where, never the value; the rest kept."""
    client, tokens = api
    batch = [
        shipped("S-0", data={"carrier": "x\u0000y"}),
        shipped("S-1", data={"parcels": [{"label": "ok"}, {"label": "a\ud800"}]}),
        shipped("S-2", data={"bad\u0000key": 1}),
        shipped("S-3", data={"a/b": {"c~d": "\u0000"}}),
        shipped("S-4"),
    ]
    body = json.dumps({"events": batch})  # \ud800 as JSON writes it, an escape
    answer = client.post(URL, content=body, headers=tokens["ingest"])
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        "/events/0/data/carrier: contains a NUL character",
        "/events/1/data/parcels/1/label: contains a lone surrogate (not a Unicode character)",
        "/events/2/data: has a key that contains a NUL character",
        "/events/3/data/a~1b/c~0d: contains a NUL character",
    ]
    assert [row.event_key for row in stored(engine)] == ["S-4"]


def test_a_number_in_data_too_large_to_store_is_one_item_s_error(
    engine: Engine, api: Client
) -> None:
    """Past what a float holds (about 1.8e308): whole, negative, in a list, or with an
    exponent Python's decimal context overflows on, the item is refused naming it."""
    client, tokens = api
    body = (
        '{"events": ['
        + ", ".join(
            json.dumps(shipped(f"S-{n}", data={"weight_kg": 1})).replace("1}}", number + "}}")
            for n, number in enumerate(["-1e999999999", "[1e1000000]", "1e400", "1"])
        )
        + "]}"
    )
    answer = client.post(URL, content=body, headers=tokens["ingest"])
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        f"/events/{n}/data: holds a number too large to store (beyond 1.8e308)" for n in range(3)
    ]
    assert [row.event_key for row in stored(engine)] == ["S-3"]


def test_an_occurred_at_whose_conversion_to_utc_overflows_is_one_item_s_error(
    engine: Engine, api: Client
) -> None:
    client, tokens = api
    batch = [shipped("S-0", occurred_at="0001-01-01T00:00:00+14:00"), shipped("S-1")]
    answer = client.post(URL, json={"events": batch}, headers=tokens["ingest"])
    assert answer.status_code == 422
    assert answer.json()["errors"] == ["/events/0/occurred_at: is out of range (before 1900-01-01)"]
    assert [row.event_key for row in stored(engine)] == ["S-1"]


def test_an_event_repeated_in_a_batch_is_written_once_with_a_warning_naming_both(
    engine: Engine, api: Client
) -> None:
    client, tokens = api
    body = {"events": [shipped(), shipped("S-2"), shipped(data={"carrier": "UPS"})]}
    answer = client.post(URL, json=body, headers=tokens["ingest"]).json()
    assert (answer["accepted"], answer["inserted"], answer["repeated"]) == (3, 2, 1)
    assert answer["warnings"] == [
        "/events/2: repeats the customer_id, name and id of /events/0; this later item wins"
    ]
    assert stored(engine)[0].data == '{"carrier":"UPS"}'


def test_posting_the_same_event_again_changes_nothing_and_a_correction_updates_it(
    engine: Engine, api: Client
) -> None:
    client, tokens = api
    body = {"events": [shipped(), shipped("S-2"), shipped()]}
    first = client.post(URL, json=body, headers=tokens["ingest"]).json()
    assert (first["accepted"], first["inserted"]) == (3, 2)
    again = client.post(URL, json=body, headers=tokens["ingest"]).json()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 2)
    corrected = shipped(data={"carrier": "UPS"})
    fixed = client.post(URL, json={"events": [corrected]}, headers=tokens["ingest"]).json()
    assert (fixed["inserted"], fixed["updated"]) == (0, 1)
    other_name = shipped(name="order_delivered")
    client.post(URL, json={"events": [other_name]}, headers=tokens["ingest"])
    rows = stored(engine)
    assert len(rows) == 3 and rows[0].data == '{"carrier":"UPS"}'


def test_an_erased_customer_s_events_are_refused_and_the_customer_not_re_created(
    engine: Engine, api: Client
) -> None:
    client, tokens = api
    client.post(URL, json={"events": [shipped()]}, headers=tokens["ingest"])
    with engine.begin() as connection:
        report = erase_customer(connection, "C1", NOW - timedelta(days=1))
    assert report.events_deleted == 1 and stored(engine) == []
    answer = client.post(URL, json={"events": [shipped("S-2")]}, headers=tokens["ingest"])
    assert answer.status_code == 200
    assert answer.json()["skipped"] == [
        "/events/0/customer_id: skipped: erased on request on 2026-12-05"
    ]
    assert stored(engine) == []
    with engine.connect() as connection:
        erased = connection.execute(select(CUSTOMER.c.erased_at, CUSTOMER.c.email)).one()
    assert erased.erased_at is not None and erased.email is None


def test_an_erasure_starting_while_a_batch_is_written_leaves_no_event_of_hers(
    engine: Engine, api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch read who is erased, then wrote its events: an erasure committing in
    between deleted no event (none was written yet), and the batch then wrote one
    (its data is whatever the shop sent about her). Now the erasure waits for the
    batch, or the batch sees it."""
    from rapport.engine.customers import events

    client, tokens = api
    upsert = events._upsert
    erasing: list[threading.Thread] = []

    def erase_meanwhile(*args: Any, **kwargs: Any) -> None:
        def erase() -> None:
            with engine.begin() as connection:
                erase_customer(connection, "C1", NOW)

        erasing.append(threading.Thread(target=erase))
        erasing[0].start()
        erasing[0].join(1.0)  # it commits now, unless it waits for this batch
        upsert(*args, **kwargs)

    monkeypatch.setattr(events, "_upsert", erase_meanwhile)
    answer = client.post(URL, json={"events": [shipped()]}, headers=tokens["ingest"])
    assert answer.status_code == 200
    erasing[0].join(30)
    assert not erasing[0].is_alive()
    assert stored(engine) == []


def test_403_for_another_scope_413_over_a_thousand_and_422_for_another_body(
    engine: Engine, api: Client
) -> None:
    client, tokens = api
    assert client.post(URL, json={"events": [shipped()]}).status_code == 401
    refused = client.post(URL, json={"events": [shipped()]}, headers=tokens["read"])
    assert refused.status_code == 403 and "ingest" in refused.json()["error"]
    many = {"events": [shipped(f"S-{i}") for i in range(1001)]}
    big = client.post(URL, json=many, headers=tokens["ingest"])
    assert big.status_code == 413 and big.json() == {"error": "at most 1000 events per request"}
    wrong = client.post(URL, json={"orders": []}, headers=tokens["ingest"])
    assert wrong.status_code == 422 and wrong.json() == {
        "error": 'the body must be {"events": [...]}'
    }
    assert stored(engine) == []


def test_export_lists_events_and_retention_deletes_old_ones(engine: Engine, api: Client) -> None:
    client, tokens = api
    old = shipped("OLD", occurred_at="2026-01-01T09:00:00Z")
    client.post(URL, json={"events": [old, shipped()]}, headers=tokens["ingest"])
    with engine.connect() as connection:
        exported = export_customer(connection, "C1", now=NOW)["events"]
    assert [event["id"] for event in exported] == ["OLD", "S-1"]
    assert prune_events(engine, days=300, now=NOW, batch_size=1) == 1
    assert [row.event_key for row in stored(engine)] == ["S-1"]
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(CUSTOMER_EVENT)).scalar()
    assert count == 1


def test_the_nightly_retention_job_deletes_events_older_than_the_setting(
    engine: Engine, api: Client, tmp_path: Path
) -> None:
    from factories import make_settings

    from rapport.engine.runtime.daemon import Daemon

    client, tokens = api
    old = shipped("OLD", occurred_at="2026-11-01T09:00:00Z")
    client.post(URL, json={"events": [old, shipped()]}, headers=tokens["ingest"])
    settings = make_settings(base_dir=tmp_path, retention={"event_days": 30})
    daemon = Daemon(settings, engine, clock=lambda: NOW)
    try:
        assert daemon.prune_tick() is not None
    finally:
        daemon.stop(grace=0)
    assert [row.event_key for row in stored(engine)] == ["S-1"]
