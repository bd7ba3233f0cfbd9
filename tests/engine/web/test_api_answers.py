"""The API's generic answers (docs/api.md, "Answers and refusals"): a body nested too
deep is a 400 that says so, a body over the limit is the documented 413, a path with
a trailing slash is a 404 and never a redirect built from the Host header, and an
unexpected error is logged without the statement's values. On SQLite and PostgreSQL
where the database matters."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from factories import REPO, insert_customer
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from rapport.engine.core.config import Settings
from rapport.engine.web.api_tokens import create_token
from rapport.engine.web.app import create_app
from rapport.engine.web.jsonbody import MAX_DEPTH
from rapport.engine.web.server import BackgroundServer
from tests.engine.web.test_api_messages import DATA, SHIPPED, settings_in

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(Settings(base_dir=REPO, secret_key="test"), engine, clock=lambda: NOW)
    with TestClient(app, follow_redirects=False) as test_client:
        test_client.headers["Authorization"] = (
            f"Bearer {create_token(engine, 'shop', 'ingest', NOW)}"
        )
        yield test_client


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 985, 5000])
def test_a_body_nested_too_deep_is_400_saying_so(client: TestClient, levels: int) -> None:
    body = '{"customers": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"
    answer = client.post("/api/v1/customers", content=body.encode())
    assert answer.status_code == 400
    assert answer.json() == {
        "error": f"the body's JSON is nested too deep (at most {MAX_DEPTH} levels of arrays "
        "and objects)"
    }


def test_a_body_nested_to_the_limit_is_read_and_one_that_is_not_json_is_400(
    client: TestClient,
) -> None:
    deep = '{"customers": [{"id": "C1", "x": ' + "[" * (MAX_DEPTH - 3) + "]" * (MAX_DEPTH - 3)
    answer = client.post("/api/v1/customers", content=(deep + "}]}").encode())
    assert answer.status_code == 422 and answer.json()["errors"]  # read, then checked
    broken = client.post("/api/v1/customers", content=b'{"customers": [')
    assert broken.status_code == 400
    assert broken.json() == {"error": "the body is not valid JSON"}


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('{"customers": [{"id": "C1", "id": "C2", "locale": "en", "timezone": "UTC"}]}', "id"),
        ('{"customers": [], "customers": [{"id": "C1"}]}', "customers"),
        ('{"customers": [{"id": "C1", "x": {"a": 1, "a": 2}}]}', "a"),
    ],
)
def test_a_key_repeated_in_one_object_is_400_naming_it(
    client: TestClient, engine: Engine, body: str, key: str
) -> None:
    """Which of two values a JSON parser keeps is up to the parser (Python keeps the
    last, others the first): `{"id": "C1", "id": "C2"}` wrote the customer C2 and said
    nothing of C1. The body is refused, naming the key, and nothing is written."""
    answer = client.post("/api/v1/customers", content=body.encode())
    assert answer.status_code == 400
    assert answer.json() == {"error": f'the body\'s JSON repeats the key "{key}" in one object'}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM customer")).scalar() == 0


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_body_not_in_utf8_is_400_saying_so(
    client: TestClient, engine: Engine, encoding: str
) -> None:
    """JSON between systems is UTF-8 (RFC 8259); Python's parser guessed UTF-16 or
    UTF-32 from the first bytes and wrote the customer. Refused, nothing written."""
    body = '{"customers": [{"id": "C1", "locale": "en", "timezone": "UTC"}]}'
    answer = client.post("/api/v1/customers", content=body.encode(encoding))
    assert answer.status_code == 400
    assert answer.json() == {"error": "the body is not UTF-8 (JSON is sent as UTF-8)"}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM customer")).scalar() == 0


def test_a_utf8_body_with_a_byte_order_mark_is_read(client: TestClient, engine: Engine) -> None:
    """docs/api.md: a UTF-8 byte order mark is skipped (RFC 8259 lets a parser ignore
    it), so a body a Windows tool wrote is read, not refused as not UTF-8."""
    body = '{"customers": [{"id": "C1", "locale": "en", "timezone": "UTC"}]}'
    answer = client.post("/api/v1/customers", content=body.encode("utf-8-sig"))
    assert answer.status_code == 200, answer.text
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM customer")).scalar() == 1


def test_a_body_over_the_limit_is_413_in_the_words_docs_api_md_shows(
    client: TestClient,
) -> None:
    answer = client.post("/api/v1/customers", content=b"[" + b" " * (64 * 1024) + b"]")
    assert answer.status_code == 413
    assert answer.json() == {"error": "content too large"}
    assert '{"error": "content too large"}' in (REPO / "docs" / "api.md").read_text("utf-8")


@pytest.mark.parametrize("path", ["/api/v1/events/", "/api/v1/openapi.json/", "/api/v1/token/"])
def test_a_trailing_slash_under_api_is_a_json_404_not_a_redirect(
    client: TestClient, path: str
) -> None:
    answer = client.request(
        "POST" if "events" in path else "GET", f"{path}?token=x", headers={"Host": "evil.example"}
    )
    assert answer.status_code == 404 and "location" not in answer.headers
    assert answer.json() == {"error": "not found"}


@pytest.mark.parametrize("path", ["/admin/campaigns/", "/admin/report/", "/preferences/"])
def test_a_trailing_slash_on_a_page_is_the_404_page_not_a_redirect(
    client: TestClient, path: str
) -> None:
    answer = client.get(f"{path}?token=x", headers={"Host": "evil.example"})
    assert answer.status_code == 404 and "location" not in answer.headers
    assert answer.headers["content-type"].startswith("text/html")
    assert "evil.example" not in answer.text


#: What makes the outbox refuse a message: on PostgreSQL a check whose violation's
#: DETAIL quotes the whole row, on SQLite a trigger (the statement's values would be in
#: the error without hide_parameters).
CLOSE_THE_OUTBOX = {
    "postgresql": "ALTER TABLE outbox_message ADD CONSTRAINT outbox_closed "
    "CHECK (body_text NOT LIKE 'Hi%')",
    "sqlite": "CREATE TRIGGER outbox_closed BEFORE INSERT ON outbox_message "
    "BEGIN SELECT RAISE(ABORT, 'outbox_closed'); END",
}


def test_a_database_error_is_a_500_logged_without_the_message_or_the_customer(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    insert_customer(
        engine, "C1", first_name="Ada", last_name="Lovelace", email="ada@example.com", locale="en"
    )
    token = create_token(engine, "mailer", "send", NOW)
    with engine.begin() as connection:
        connection.execute(text(CLOSE_THE_OUTBOX[engine.dialect.name]))
    server = BackgroundServer(create_app(settings_in(tmp_path), engine, clock=lambda: NOW))
    caplog.set_level(logging.INFO)
    server.start()
    try:
        answer = httpx.post(
            f"{server.url}/api/v1/messages",
            json={**SHIPPED, "data": DATA},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k"},
        )
    finally:
        server.stop()
    assert answer.status_code == 500 and answer.json() == {"error": "internal server error"}
    logged = caplog.text
    assert "unexpected error answering POST /api/v1/messages" in logged
    assert "outbox_closed" in logged and "IntegrityError" in logged  # what and where
    for personal in ("Ada", "Lovelace", "ada@example.com", "O-1001", "Royal Mail", "t.example"):
        assert personal not in logged


def test_a_number_longer_than_python_reads_is_400_saying_so(client: TestClient) -> None:
    """A whole number of more than 4300 digits is valid JSON that Python refuses to
    read (sys.get_int_max_str_digits): it was answered 'the body is not valid JSON'."""
    limit = sys.get_int_max_str_digits()
    body = '{"customers": [{"id": "C1", "x": ' + "9" * (limit + 1) + "}]}"
    answer = client.post("/api/v1/customers", content=body.encode())
    assert answer.status_code == 400
    assert answer.json() == {"error": f"the body's JSON holds a number of more than {limit} digits"}
