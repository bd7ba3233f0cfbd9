"""An API request naming a key written as a lone UTF-16 surrogate (``"\\ud800"``, which
JSON allows and no UTF-8 text can hold) is refused naming the key by its escape: the
refusal quoted the key as it was, which could not be encoded, so the request was a 500
'internal server error' instead of the 400 or 422 the mistake is. On SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from factories import REPO
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.engine.core.config import Settings
from rapport.engine.web.api_tokens import create_token
from rapport.engine.web.app import create_app

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def post(engine: Engine) -> Iterator[Callable[[str, bytes, str], Any]]:
    app = create_app(Settings(base_dir=REPO, secret_key="test"), engine, clock=lambda: NOW)
    tokens = {scope: create_token(engine, scope, scope, NOW) for scope in ("ingest", "send")}
    with TestClient(app, raise_server_exceptions=False) as client:

        def send(path: str, body: bytes, scope: str) -> Any:
            headers = {
                "Authorization": f"Bearer {tokens[scope]}",
                "Content-Type": "application/json",
                "Idempotency-Key": "k-1",
            }
            return client.post(path, content=body, headers=headers)

        yield send


def test_an_ingest_body_with_an_unknown_key_in_a_lone_surrogate_is_a_422(
    post: Callable[[str, bytes, str], Any],
) -> None:
    answer = post("/api/v1/customers", b'{"customers": [], "\\ud800x": 1}', "ingest")
    assert answer.status_code == 422
    assert answer.json()["error"].endswith('unknown key "\\ud800x"')


def test_a_body_repeating_a_key_in_a_lone_surrogate_is_a_400(
    post: Callable[[str, bytes, str], Any],
) -> None:
    body = b'{"customers": [{"id": "C1", "\\ud800": 1, "\\ud800": 2}]}'
    answer = post("/api/v1/customers", body, "ingest")
    assert answer.status_code == 400
    assert "\\ud800" in answer.json()["error"]


def test_a_message_request_with_an_unknown_field_in_a_lone_surrogate_is_a_422(
    post: Callable[[str, bytes, str], Any],
) -> None:
    answer = post("/api/v1/messages", b'{"\\ud800x": 1}', "send")
    assert answer.status_code == 422
    assert answer.json()["error"].startswith("/\\ud800x: unknown field")
