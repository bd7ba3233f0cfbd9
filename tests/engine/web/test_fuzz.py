"""Whatever a client sends, the web app answers 2xx/3xx/4xx, never 500 (issue 15, point 5).

Hypothesis builds requests for every route: query strings and form bodies made of
(repeated) keys and values from arbitrary bytes (percent-encoded, as they travel),
text of any script, huge and odd numbers, digits of other scripts (Persian, Arabic-
Indic, superscripts, Roman numerals), empty values; path tokens that are valid,
valid for another purpose, truncated or extended, or arbitrary bytes; raw bodies
that are not the form they claim to be, multipart bodies and JSON of any shape for
the webhooks. The client asks for Persian (``Accept-Language: fa``) and the
customer's locale is Persian, so every error page must be Persian and right-to-left.
Each database runs every test; examples are few per route, so the file takes seconds.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
from factories import REPO, insert_customer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from rapport.consent.store import ConsentChange, record_consent
from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core.config import Settings, WebConfig
from rapport.engine.core.models import FEEDBACK_ANSWER, SUPPRESSION
from rapport.engine.web.app import create_app

SECRET = "fuzz-secret"
HOOK = "fuzz-hook"
ADMIN = "fuzz-admin"
NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)

#: What a client may get for a malformed request: never a redirect of a path with a
#: trailing slash (that is a 404); 401: the admin report without its token; 429 never
#: (the limiter is set to its most lenient); 431 for a query string that makes the
#: request head longer than web.max_header_bytes (random examples reach it).
ANSWERS = {200, 303, 400, 401, 403, 404, 405, 413, 415, 422, 431}
PERSIAN = re.compile(r'<html lang="fa" dir="rtl">')

FUZZ = settings(
    max_examples=int(os.environ.get("RAPPORT_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize="RAPPORT_FUZZ_EXAMPLES" not in os.environ,
)


@pytest.fixture
def app_settings() -> Settings:
    return Settings(
        base_dir=REPO,
        secret_key=SECRET,
        web=WebConfig(report_token=ADMIN, webhook_token=HOOK, link_requests_per_hour=1000),
    )


@pytest.fixture
def client(engine: Engine, app_settings: Settings) -> Iterator[TestClient]:
    insert_customer(engine, "F1", first_name="سارا", email="f1@example.com", phone="+989121234567")
    with engine.begin() as connection:
        record_consent(
            connection,
            [
                ConsentChange("F1", channel, topic, "granted", "signup_form", NOW)
                for channel in ("email", "sms")
                for topic in ("offers", "birthday")
            ],
            recorded_at=NOW,
        )
    app = create_app(app_settings, engine, clock=lambda: NOW)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


SIGNER = Signer(SECRET)
TOKENS = {
    "preferences": SIGNER.sign(Purpose.PREFERENCES, TokenClaims("F1", "email")),
    "unsubscribe": SIGNER.sign(Purpose.UNSUBSCRIBE, TokenClaims("F1", "sms")),
    "confirm": SIGNER.sign(Purpose.CONFIRM, TokenClaims("F1", "email")),
    "feedback": SIGNER.sign(Purpose.FEEDBACK, TokenClaims("F1", "email", topic="fb:1")),
}

# -- values as a client can send them ---------------------------------------------------

any_text = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
    st.text(st.sampled_from("\x00\x1b\u202e\ufeff\r\n%&=;a۹"), max_size=8),  # NUL, ESC, RLO
)
other_digits = st.text(
    st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=5
)  # ۹, ٣, ², Ⅻ, ½ ...
numbers = st.one_of(
    st.integers(-(10**40), 10**40).map(str),
    st.sampled_from(["1e309", "-0", "NaN", "inf", "0x10", "9" * 5000, "1_0", " 7 ", "+5"]),
)
words = st.sampled_from(
    [
        "", "on", "off", "One-Click", "yes", "0", "10", "11", "fa", "zh", "ar", "en",
        "fa_IR", "xx-YY", "*", "2025-01-01", "9999-12-31", "0001-01-01", "2025-02-30",
        "STOP", "START", "+989121234567", "f1@example.com", "a@b", "\x00", "é" * 300,
    ]
)  # fmt: skip


def encoded(value: str) -> str:
    return quote(value, safe="")


value = st.one_of(
    st.binary(max_size=40).map(quote_from_bytes),
    any_text.map(encoded),
    other_digits.map(encoded),
    numbers.map(encoded),
    words.map(encoded),
)
FIELDS = [
    "lang", "email", "score", "comment", "List-Unsubscribe", "confirm", "email:offers",
    "sms:offers", "email:birthday", "sms:nope", "from", "to", "token", "From", "Body",
]  # fmt: skip
key = st.one_of(st.sampled_from(FIELDS), st.binary(max_size=12).map(quote_from_bytes))
pairs = st.lists(st.tuples(key, value), max_size=8)


def urlencoded(items: list[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in items)


def multipart(items: list[tuple[str, str]]) -> tuple[bytes, str]:
    boundary = "fuzzBoundary7"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in items
    ]
    return (("".join(parts) + f"--{boundary}--\r\n").encode(), boundary)


form_body = st.one_of(
    pairs.map(lambda items: (urlencoded(items).encode(), "application/x-www-form-urlencoded")),
    pairs.map(multipart).map(lambda b: (b[0], f"multipart/form-data; boundary={b[1]}")),
    st.binary(max_size=200).map(lambda raw: (raw, "application/x-www-form-urlencoded")),
    st.binary(max_size=200).map(lambda raw: (raw, "multipart/form-data; boundary=x")),
    st.binary(max_size=60).map(lambda raw: (raw, "multipart/form-data")),
    st.sampled_from(["text/plain", "application/json", "", "image/png"]).flatmap(
        lambda media: st.binary(max_size=40).map(lambda raw: (raw, media))
    ),
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["type", "email", "bounce_type", "from", "text"])
                      | any_text, children, max_size=5),
    max_leaves=12,
)  # fmt: skip


def token_for(purpose: str) -> st.SearchStrategy[str]:
    good = TOKENS.get(purpose, TOKENS["preferences"])
    return st.one_of(
        st.just(good),
        st.sampled_from(sorted(set(TOKENS.values()) - {good})),  # another purpose
        st.integers(1, len(good) - 1).map(lambda n: good[:n]),
        value.map(lambda tail: good + tail),
        st.binary(min_size=1, max_size=80).map(quote_from_bytes),
    )


def check(response: Any, *, pages: bool = True) -> None:
    """A 2xx/3xx/4xx answer, no traceback, the headers, and Persian error pages."""
    assert response.status_code in ANSWERS, (response.status_code, response.text[:500])
    assert "Traceback" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    if response.status_code >= 400 and pages:
        assert response.headers["content-type"].startswith("text/html"), response.text[:200]
        assert PERSIAN.search(response.text), response.text[:300]


FA = {"Accept-Language": "fa"}

# -- the pages --------------------------------------------------------------------------

PAGE_FAMILIES = ["preferences", "confirm", "unsubscribe", "feedback"]


@pytest.mark.parametrize("family", PAGE_FAMILIES)
def test_a_token_page_answers_any_path_query_and_form_without_a_server_error(
    client: TestClient, family: str
) -> None:
    @FUZZ
    @given(token=token_for(family), query=pairs, body=form_body, post=st.booleans())
    def run(token: str, query: list[tuple[str, str]], body: tuple[bytes, str], post: bool) -> None:
        url = f"/{family}/{token}?{urlencoded(query)}"
        if post:
            content, media = body
            response = client.post(url, content=content, headers={**FA, "content-type": media})
        else:
            response = client.get(url, headers=FA)
        check(response)

    run()


def test_the_link_request_page_answers_any_query_and_form(client: TestClient) -> None:
    @FUZZ
    @given(query=pairs, body=form_body, post=st.booleans())
    def run(query: list[tuple[str, str]], body: tuple[bytes, str], post: bool) -> None:
        url = f"/preferences?{urlencoded(query)}"
        if post:
            content, media = body
            response = client.post(url, content=content, headers={**FA, "content-type": media})
        else:
            response = client.get(url, headers=FA)
        check(response)

    run()


def test_the_admin_report_answers_any_period_and_token(client: TestClient) -> None:
    @FUZZ
    @given(
        start=value,
        end=value,
        token=st.one_of(st.just(ADMIN), value),
        extra=pairs,
    )
    def run(start: str, end: str, token: str, extra: list[tuple[str, str]]) -> None:
        query = urlencoded([("from", start), ("to", end), ("token", token), *extra])
        response = client.get(f"/admin/report?{query}", headers=FA)
        # The report is the operators' page, in English; its refusals are plain text.
        check(response, pages=False)

    run()


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/", "/nowhere/x"])
def test_other_routes_answer_any_query_and_method(client: TestClient, path: str) -> None:
    @settings(FUZZ, max_examples=15)
    @given(query=pairs, method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
    def run(query: list[tuple[str, str]], method: str) -> None:
        response = client.request(method, f"{path}?{urlencoded(query)}", headers=FA)
        check(response, pages=response.status_code in (404, 405))

    run()


# -- the webhooks (JSON errors, not pages) ----------------------------------------------

HOOK_HEADERS = {"X-Rapport-Webhook-Token": HOOK, **FA}


def test_the_sms_webhook_answers_any_form_or_json(client: TestClient) -> None:
    @FUZZ
    @given(form=form_body, data=json_value, as_json=st.booleans())
    def run(form: tuple[bytes, str], data: Any, as_json: bool) -> None:
        content, media = (json.dumps(data).encode(), "application/json") if as_json else form
        response = client.post(
            "/webhooks/sms/inbound",
            content=content,
            headers={**HOOK_HEADERS, "content-type": media},
        )
        check(response, pages=False)
        if response.status_code >= 400:
            assert "error" in response.json()

    run()


def test_the_email_events_webhook_answers_any_json(client: TestClient) -> None:
    event = st.fixed_dictionaries(
        {"type": st.sampled_from(["bounce", "complaint", "delivery"]) | any_text},
        optional={
            "email": words | any_text,
            "bounce_type": st.sampled_from(["hard", "soft"]) | json_value,
            "reason": json_value,
            "message_id": json_value,
            "occurred_at": words | any_text | json_value,
        },
    )

    @FUZZ
    @given(data=st.one_of(event, st.lists(event, max_size=4), json_value))
    def run(data: Any) -> None:
        response = client.post(
            "/webhooks/email/events",
            content=json.dumps(data).encode(),
            headers={**HOOK_HEADERS, "content-type": "application/json"},
        )
        check(response, pages=False)
        if response.status_code >= 400:
            assert "error" in response.json()

    run()


# -- cases found by the fuzzing above, kept as plain examples -----------------------------


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("family", "content", "media"),
    [
        ("feedback", b"score=%DB%B9", FORM),
        ("preferences", b"email%3Aoffers=on&email%3Aoffers=off", FORM),
        ("preferences", b"--x\r\nbroken", "multipart/form-data; boundary=x"),
        ("unsubscribe", b"List-Unsubscribe=One-Click&List-Unsubscribe=x", FORM),
    ],
)
def test_known_awkward_forms(client: TestClient, family: str, content: bytes, media: str) -> None:
    response = client.post(
        f"/{family}/{TOKENS[family]}", content=content, headers={**FA, "content-type": media}
    )
    check(response)


def test_nul_characters_never_reach_the_database(client: TestClient, engine: Engine) -> None:
    """PostgreSQL text cannot hold NUL: each place a client's text is stored or looked up."""
    hook = {**HOOK_HEADERS, "content-type": "application/json"}
    events = "/webhooks/email/events"
    complaint = {"type": "complaint", "email": "f1@example.com", "reason": "550\x00 spam"}
    assert client.post(events, content=json.dumps(complaint), headers=hook).status_code == 200
    delivery = {"type": "delivery", "email": "f1@example.com", "message_id": "<a\x00b>"}
    refused = client.post(events, content=json.dumps(delivery), headers=hook)
    assert refused.status_code == 400
    assert refused.json() == {"error": "item 0: message_id: must not contain NUL characters"}
    link = client.post("/preferences", data={"email": "f1@example.com\x00"}, headers=FA)
    assert link.status_code == 200  # the same answer as for any address; nothing looked up
    feedback = client.post(
        f"/feedback/{TOKENS['feedback']}", data={"score": "9", "comment": "a\x00b"}, headers=FA
    )
    assert feedback.status_code == 200
    with engine.connect() as connection:
        detail = connection.execute(select(SUPPRESSION.c.detail)).scalar_one()
        comment = connection.execute(select(FEEDBACK_ANSWER.c.comment)).scalar_one()
    assert (detail, comment) == ("550 spam", "ab")
