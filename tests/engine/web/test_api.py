"""The HTTP API under /api/v1 (issue 19, point 1): bearer tokens stored hashed, 401 and
403 as documented, the OpenAPI 3.1 document naming every route, and every curl line
of docs/api.md run against a real server, its answer compared with the JSON the page
shows after it. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from factories import REPO
from sqlalchemy import Engine, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from rapport.engine.core.config import Settings
from rapport.engine.core.models import API_TOKEN
from rapport.engine.web import api, api_events, api_ingest, api_messages
from rapport.engine.web.api_tokens import create_token, revoke_token, token_hash
from rapport.engine.web.app import create_app
from rapport.engine.web.server import BackgroundServer

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
DOC = REPO / "docs" / "api.md"
ALL_ROUTES = [*api.routes, *api_ingest.routes, *api_events.routes, *api_messages.routes]


def settings() -> Settings:
    return Settings(base_dir=REPO, secret_key="test")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings(), engine)

    async def needs_send(request: Request) -> Response:
        found = await api.authenticate(request, "send")
        return found if isinstance(found, Response) else JSONResponse({"ok": True})

    # A route that needs the send scope, as the message endpoints will.
    app.router.routes.append(Route("/api/v1/test-send", needs_send, methods=["POST"]))
    with TestClient(app) as test_client:
        yield test_client


def test_a_token_is_stored_only_as_its_sha256_and_names_its_owner(
    engine: Engine, client: TestClient
) -> None:
    token = create_token(engine, "shop", "ingest", NOW)
    assert token.startswith("rpt_") and len(token) > 40
    with engine.connect() as connection:
        stored = connection.execute(select(API_TOKEN)).one()
    assert stored.token_hash == token_hash(token) and token not in tuple(map(str, stored))
    answer = client.get("/api/v1/token", headers=bearer(token))
    assert answer.status_code == 200
    assert answer.json() == {"name": "shop", "scope": "ingest"}
    assert answer.headers["content-type"] == "application/json"


def test_no_token_a_bad_one_or_a_revoked_one_is_401_with_www_authenticate(
    engine: Engine, client: TestClient
) -> None:
    token = create_token(engine, "crm", "read", NOW)
    for headers in ({}, {"Authorization": "Basic abc"}, bearer("rpt_nope"), bearer(token[:-1])):
        answer = client.get("/api/v1/token", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert set(answer.json()) == {"error"}
    assert client.get("/api/v1/token", headers=bearer(token)).status_code == 200
    assert revoke_token(engine, "crm", NOW) is True
    assert client.get("/api/v1/token", headers=bearer(token)).status_code == 401
    assert revoke_token(engine, "crm", NOW) is False


def test_a_live_token_without_the_scope_is_403_and_a_program_s_post_passes_the_csrf_check(
    engine: Engine, client: TestClient
) -> None:
    ingest = create_token(engine, "shop", "ingest", NOW)
    send = create_token(engine, "mailer", "send", NOW)
    refused = client.post("/api/v1/test-send", headers=bearer(ingest))
    assert refused.status_code == 403 and "send" in refused.json()["error"]
    assert client.post("/api/v1/test-send", headers=bearer(send)).json() == {"ok": True}
    assert client.post("/api/v1/test-send").status_code == 401


def test_the_openapi_document_is_3_1_and_names_every_api_route(client: TestClient) -> None:
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert document == api.openapi_document(settings())
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] and document["info"]["version"]
    for route in ALL_ROUTES:
        methods = {m.lower() for m in (route.methods or set())} - {"head"}
        assert route.path in document["paths"], route.path
        assert methods <= set(document["paths"][route.path]), route.path
    assert set(document["paths"]) == {route.path for route in ALL_ROUTES}
    refs = re.findall(r'"\$ref": "#/components/schemas/(\w+)"', json.dumps(document))
    assert refs and set(refs) <= set(document["components"]["schemas"])
    for path in document["paths"].values():
        for operation in path.values():
            for scheme in operation.get("security", []):
                assert set(scheme) <= set(document["components"]["securitySchemes"])


def documented_curls() -> list[tuple[str, object]]:
    """(curl line, the JSON shown after it or None) for every curl line of docs/api.md."""
    blocks = re.findall(r"```(\w*)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    found: list[tuple[str, object]] = []
    for index, (_, body) in enumerate(blocks):
        for line in body.splitlines():
            if line.startswith("curl "):
                after = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
                found.append((line, json.loads(after[1]) if after[0] == "json" else None))
    return found


def test_docs_api_md_has_curl_examples_for_its_endpoints() -> None:
    lines = [line for line, _ in documented_curls()]
    assert len(lines) >= 4
    for route in ALL_ROUTES:
        # A path parameter ({message_id}) stands for any one path segment.
        shape = re.compile(re.sub(r"\\\{\w+\\\}", r"[^/\"]+", re.escape(route.path)) + r"\b")
        assert any(shape.search(line) for line in lines), route.path


def test_every_curl_line_of_docs_api_md_answers_as_the_page_shows(engine: Engine) -> None:
    token = create_token(engine, "shop", "ingest", NOW)
    send = create_token(engine, "mailer", "send", NOW)
    # A fixed clock, so that the times the page shows are the server's.
    server = BackgroundServer(create_app(settings(), engine, clock=lambda: NOW)).start()
    try:
        env = {
            "PATH": os.environ["PATH"],
            "RAPPORT_URL": server.url,
            "TOKEN": token,
            "SEND_TOKEN": send,
        }
        for line, shown in documented_curls():
            ran = subprocess.run(
                ["bash", "-c", line], env=env, capture_output=True, text=True, timeout=30
            )
            assert ran.returncode == 0, (line, ran.stderr)
            answer = json.loads(ran.stdout)
            if "openapi.json" in line:
                assert answer == api.openapi_document(settings())
            else:
                assert shown is not None, f"docs/api.md shows no answer after {line}"
                assert answer == shown, line
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/v1/nowhere", 404), ("DELETE", "/api/v1/openapi.json", 405)],
)
def test_every_refusal_under_api_is_json(
    client: TestClient, method: str, path: str, status: int
) -> None:
    answer = client.request(method, path)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/json")
    assert "error" in answer.json()
