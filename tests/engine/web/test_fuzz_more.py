"""The routes ``test_fuzz.py`` leaves out answer any request with a 2xx or 4xx, never a
500 (issue 15, point 5): the admin campaign pages, the SMS status webhook and every
route of the HTTP API (ingest, events, messages and their status, the token and the
OpenAPI document), fuzzed with hypothesis on both databases: their query strings,
paths, headers and bodies, JSON of any shape and items whose keys are the real ones
with values of any kind. The pages answer in the client's language; the API and the
webhooks answer JSON with an ``error`` or ``errors``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from factories import REPO
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.engine.core.config import Settings, WebConfig
from rapport.engine.web.api_tokens import create_token
from tests.engine.web.test_fuzz import (
    ADMIN,
    FA,
    FUZZ,
    HOOK,
    HOOK_HEADERS,
    NOW,
    SECRET,
    any_text,
    form_body,
    json_value,
    pairs,
    urlencoded,
    value,
    words,
)
from tests.engine.web.test_fuzz import client as client

#: What the API may answer a malformed request (429: its per-token rate; 431: a query
#: string longer than web.max_header_bytes).
API_ANSWERS = {200, 202, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 431}


@pytest.fixture
def app_settings() -> Settings:
    """test_fuzz's settings, with the shipped campaigns and templates for the admin pages
    and the transactional messages."""
    return Settings(
        base_dir=REPO,
        secret_key=SECRET,
        web=WebConfig(report_token=ADMIN, webhook_token=HOOK, link_requests_per_hour=1000),
    )


@pytest.fixture
def tokens(engine: Engine) -> dict[str, str]:
    return {
        scope: create_token(engine, f"fuzz-{scope}", scope, NOW)
        for scope in ("ingest", "send", "read")
    }


def check_json(response: Any) -> None:
    assert response.status_code in API_ANSWERS, (response.status_code, response.text[:500])
    assert "Traceback" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    if response.status_code >= 400:
        answer = response.json()
        assert "error" in answer or "errors" in answer, answer


odd = st.one_of(
    words,
    any_text,
    json_value,
    st.sampled_from(
        ["2026-05-20T12:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31", "1e309", "F1"]
    ),
)
COLUMNS = {
    "customers": [
        "id", "first_name", "last_name", "email", "phone", "locale", "timezone", "country",
        "birthday", "created_at", "gender", "salutation",
    ],
    "orders": ["id", "customer_id", "ordered_at", "total", "currency", "lines", "sku", "status"],
    "consent": [
        "customer_id", "channel", "topic", "status", "source", "captured_at", "wording",
        "actor", "ip", "user_agent",
    ],
    "events": ["id", "customer_id", "name", "occurred_at", "data"],
}  # fmt: skip


def items(kind: str) -> st.SearchStrategy[Any]:
    item = st.dictionaries(st.sampled_from(COLUMNS[kind]) | any_text, odd, max_size=8)
    return st.one_of(
        st.fixed_dictionaries({kind: st.lists(item, max_size=4)}),
        st.fixed_dictionaries({kind: json_value}),
        json_value,
    )


@pytest.mark.parametrize("kind", sorted(COLUMNS))
def test_an_ingest_endpoint_answers_any_body(
    client: TestClient, tokens: dict[str, str], kind: str
) -> None:
    @FUZZ
    @given(body=items(kind), query=pairs, token=st.sampled_from([*tokens.values(), "x", ""]))
    def run(body: Any, query: list[tuple[str, str]], token: str) -> None:
        response = client.post(
            f"/api/v1/{kind}?{urlencoded(query)}",
            content=json.dumps(body).encode(),
            headers={**FA, "Authorization": f"Bearer {token}", "content-type": "application/json"},
        )
        check_json(response)

    run()


def test_the_messages_endpoint_answers_any_body_and_key(
    client: TestClient, tokens: dict[str, str]
) -> None:
    message = st.fixed_dictionaries(
        {},
        optional={
            "template": st.sampled_from(["order-shipped", "birthday", "../x", ""]) | odd,
            "topic": st.sampled_from(["shipping", "receipts", "offers"]) | odd,
            "customer": st.just("F1") | odd,
            "channel": st.sampled_from(["email", "sms", "fax"]) | odd,
            "data": st.dictionaries(any_text, odd, max_size=4) | odd,
        },
    )
    key = st.one_of(st.none(), st.text(st.characters(codec="ascii"), max_size=300), any_text)

    @FUZZ
    @given(body=st.one_of(message, json_value), key=key, raw=st.binary(max_size=40))
    def run(body: Any, key: str | None, raw: bytes) -> None:
        headers = {**FA, "Authorization": f"Bearer {tokens['send']}"}
        if key is not None:
            headers["Idempotency-Key"] = key.encode("utf-8", "surrogatepass")  # type: ignore[assignment]
        content = raw if body is None else json.dumps(body).encode()
        check_json(client.post("/api/v1/messages", content=content, headers=headers))

    run()


def test_a_message_status_answers_any_id_query_and_token(
    client: TestClient, tokens: dict[str, str]
) -> None:
    @FUZZ
    @given(message_id=value, query=pairs, token=st.sampled_from([*tokens.values(), "x"]))
    def run(message_id: str, query: list[tuple[str, str]], token: str) -> None:
        response = client.get(
            f"/api/v1/messages/{message_id or 'x'}?{urlencoded(query)}",
            headers={**FA, "Authorization": f"Bearer {token}"},
        )
        check_json(response)

    run()


@pytest.mark.parametrize("path", ["/api/v1/token", "/api/v1/openapi.json", "/api/v1/nowhere"])
def test_the_other_api_routes_answer_any_query_and_method(
    client: TestClient, tokens: dict[str, str], path: str
) -> None:
    @settings(FUZZ, max_examples=20)
    @given(query=pairs, method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
    def run(query: list[tuple[str, str]], method: str) -> None:
        response = client.request(
            method,
            f"{path}?{urlencoded(query)}",
            headers={**FA, "Authorization": f"Bearer {tokens['read']}"},
        )
        check_json(response)

    run()


def test_the_admin_campaign_pages_answer_any_name_and_query(client: TestClient) -> None:
    admin_query = st.lists(
        st.tuples(
            st.sampled_from(["customer", "date", "token", "lang"]),
            st.one_of(st.just("F1"), st.just(ADMIN), value),
        ),
        max_size=5,
    )

    @FUZZ
    @given(
        name=st.one_of(st.sampled_from(["birthday", "welcome", ""]), value),
        query=admin_query,
        extra=pairs,
    )
    def run(name: str, query: list[tuple[str, str]], extra: list[tuple[str, str]]) -> None:
        path = f"/admin/campaigns/{name}" if name else "/admin/campaigns"
        response = client.get(
            f"{path}?{urlencoded([('token', ADMIN), *query, *extra])}", headers=FA
        )
        assert response.status_code in {200, 400, 401, 404, 422, 431}, (
            response.status_code,
            response.text[:500],
        )
        assert "Traceback" not in response.text

    run()


def test_the_sms_status_webhook_answers_any_form_or_json(client: TestClient) -> None:
    report = st.dictionaries(
        st.sampled_from(["MessageSid", "MessageStatus", "ErrorCode", "id", "status", "to"])
        | any_text,
        odd,
        max_size=6,
    )

    @FUZZ
    @given(form=form_body, data=st.one_of(report, json_value), as_json=st.booleans())
    def run(form: tuple[bytes, str], data: Any, as_json: bool) -> None:
        content, media = (json.dumps(data).encode(), "application/json") if as_json else form
        response = client.post(
            "/webhooks/sms/status", content=content, headers={**HOOK_HEADERS, "content-type": media}
        )
        assert response.status_code in {200, 400, 403, 404, 405, 413, 415, 422, 431}, (
            response.status_code,
            response.text[:500],
        )
        if response.status_code >= 400:
            assert "error" in response.json()

    run()


@pytest.mark.parametrize("message_id", ["1\u00b9-abc", "\u00b2", "\u0aec\u0aed-x", "\u0661"])
def test_a_message_id_of_other_digits_is_404(
    client: TestClient, tokens: dict[str, str], message_id: str
) -> None:
    # Found by the fuzzing above: '¹' passes str.isdigit() and int() refuses it (a 500).
    response = client.get(
        f"/api/v1/messages/{message_id}", headers={"Authorization": f"Bearer {tokens['read']}"}
    )
    assert response.status_code == 404
    assert response.json() == {"error": "no such message"}


def test_a_query_too_long_for_the_head_is_431_in_the_clients_language(client: TestClient) -> None:
    # Random examples of test_fuzz.py reach it: a few 5,000-digit values in the query.
    response = client.get(f"/unsubscribe/x?lang={'9' * 20000}", headers=FA)
    assert response.status_code == 431
    assert '<html lang="fa" dir="rtl">' in response.text
    api = client.get(f"/api/v1/token?x={'9' * 20000}", headers=FA)
    assert api.status_code == 431
    assert api.json() == {"error": "request header fields too large"}
