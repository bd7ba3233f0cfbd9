"""The API's generic answers (docs/api.md, "Answers and refusals"): a body nested too
deep is a 400 that says so, a body over the limit is the documented 413, a path with
a trailing slash is a 404 and never a redirect built from the Host header, and an
unexpected error is logged without the statement's values. On SQLite and PostgreSQL
where the database matters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from factories import REPO
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.engine.core.config import Settings
from rapport.engine.web.api_tokens import create_token
from rapport.engine.web.app import create_app
from rapport.engine.web.jsonbody import MAX_DEPTH

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
