"""Form POSTs started by another website are refused (issue 15, point 4).

The rule (engine/web/csrf.py): Sec-Fetch-Site decides when sent (same-origin and
none pass); else Origin (web.base_url's origin or the origin the request was sent
to pass); else Referer's origin, alike; a request with none passes (a program, not a
page); the RFC 8058
one-click unsubscribe passes whatever the headers say. Every form is tried with
each kind of request; a refusal changes nothing in the database. The one-click and
a forged form in Chromium are tried against the app served by uvicorn.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from factories import REPO, insert_customer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from rapport.consent.state import current_states
from rapport.consent.store import ConsentChange, record_consent
from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core.config import Settings, WebConfig
from rapport.engine.core.models import CONSENT_EVENT, FEEDBACK_ANSWER, OUTBOX
from rapport.engine.web.app import create_app
from rapport.engine.web.csrf import origin_of
from rapport.engine.web.server import BackgroundServer

SECRET = "csrf-secret"
HOOK = "csrf-hook"
BASE_URL = "https://prefs.example.com"
NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)
SIGNER = Signer(SECRET)


def sign(purpose: Purpose, channel: str = "email", **claims: Any) -> str:
    return SIGNER.sign(purpose, TokenClaims("C1", channel, **claims))


#: Every form a browser can post, with a body that changes something.
FORMS: dict[str, tuple[str, dict[str, str]]] = {
    "preferences": (f"/preferences/{sign(Purpose.PREFERENCES)}", {"email:birthday": "on"}),
    "confirm": (f"/confirm/{sign(Purpose.CONFIRM)}", {}),
    "unsubscribe button": (f"/unsubscribe/{sign(Purpose.UNSUBSCRIBE)}", {"confirm": "yes"}),
    "feedback": (f"/feedback/{sign(Purpose.FEEDBACK, topic='fb:1')}", {"score": "9"}),
    "link request": ("/preferences", {"email": "c1@example.com", "lang": "en"}),
}

CROSS_SITE = {
    "another site's Origin": {"Origin": "https://evil.example"},
    "Origin null": {"Origin": "null"},
    "a sibling subdomain's Origin": {"Origin": "https://shop.example.com"},
    "base_url's host on another scheme": {"Origin": "http://prefs.example.com"},
    "Sec-Fetch-Site cross-site": {"Sec-Fetch-Site": "cross-site"},
    "Sec-Fetch-Site same-site": {"Sec-Fetch-Site": "same-site"},
    "Sec-Fetch-Site cross-site with our Origin": {
        "Sec-Fetch-Site": "cross-site",
        "Origin": BASE_URL,
    },
    "only another site's Referer (an old browser)": {"Referer": "https://evil.example/page"},
}
SAME_SITE = {
    "base_url's Origin": {"Origin": BASE_URL},
    "base_url's Origin with its default port": {"Origin": "https://prefs.example.com:443"},
    "the Origin the request was sent to": {"Origin": "http://testserver"},
    "Sec-Fetch-Site same-origin": {"Sec-Fetch-Site": "same-origin", "Origin": BASE_URL},
    "Sec-Fetch-Site none": {"Sec-Fetch-Site": "none"},
    "neither header (a program)": {},
    "only our own page as Referer (an old browser)": {"Referer": f"{BASE_URL}/preferences/x"},
    "a Referer that is no URL says nothing": {"Referer": "not a url"},
}


def app_settings() -> Settings:
    return Settings(
        base_dir=REPO,
        secret_key=SECRET,
        web=WebConfig(base_url=BASE_URL, webhook_token=HOOK, link_requests_per_hour=1000),
    )


@pytest.fixture
def customer(engine: Engine) -> None:
    insert_customer(engine, "C1", first_name="Sara", email="c1@example.com", phone="+12025550143")
    with engine.begin() as connection:
        record_consent(
            connection,
            [
                ConsentChange("C1", "email", "offers", "granted", "signup_form", NOW),
                ConsentChange("C1", "email", "newsletter", "pending", "signup_form", NOW),
                ConsentChange("C1", "sms", "offers", "granted", "signup_form", NOW),
            ],
            recorded_at=NOW,
        )


@pytest.fixture
def client(engine: Engine, customer: None) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings(), engine, clock=lambda: NOW)) as test_client:
        yield test_client


def snapshot(engine: Engine) -> tuple[int, int, int]:
    """Rows of what a form can write: consent evidence, feedback answers, e-mails queued."""
    with engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (CONSENT_EVENT, FEEDBACK_ANSWER, OUTBOX)
        )


def states(engine: Engine) -> dict[tuple[str, str], str]:
    with engine.connect() as connection:
        return {(s.channel, s.topic): s.status for s in current_states(connection, "C1")}


@pytest.mark.parametrize("form", FORMS)
def test_a_form_posted_from_another_site_is_refused_and_changes_nothing(
    client: TestClient, engine: Engine, form: str
) -> None:
    path, data = FORMS[form]
    before = snapshot(engine)
    for case, headers in CROSS_SITE.items():
        response = client.post(path, data=data, headers=headers)
        assert response.status_code == 403, case
        assert 'id="error" data-status="403"' in response.text
    assert snapshot(engine) == before


@pytest.mark.parametrize("headers", SAME_SITE)
def test_a_form_posted_from_our_own_pages_or_by_a_program_works(
    client: TestClient, engine: Engine, headers: str
) -> None:
    for form, (path, data) in FORMS.items():  # each changes something the others leave
        before = snapshot(engine)
        response = client.post(path, data=data, headers=SAME_SITE[headers])
        assert response.status_code == 200, form
        assert snapshot(engine) != before, form


def test_the_refusal_page_is_in_the_clients_language(client: TestClient) -> None:
    path, data = FORMS["preferences"]
    evil = {"Origin": "https://evil.example"}
    persian = client.post(path, data=data, headers={**evil, "Accept-Language": "fa-IR,fa;q=0.9"})
    assert '<html lang="fa" dir="rtl">' in persian.text
    assert "این فرم از وب‌سایت دیگری فرستاده شده است" in persian.text
    chinese = client.post(path, data=data, headers={**evil, "Accept-Language": "zh-CN"})
    assert "此表单是从其他网站提交的" in chinese.text
    english = client.post(path, data=data, headers=evil)
    assert "This form was sent from another website" in english.text


def test_a_webhook_posted_from_a_page_gets_the_webhooks_json_refusal(
    client: TestClient, engine: Engine
) -> None:
    before = snapshot(engine)
    response = client.post(
        "/webhooks/sms/inbound",
        json={"from": "+12025550143", "text": "STOP"},
        headers={"X-Rapport-Webhook-Token": HOOK, "Sec-Fetch-Site": "cross-site"},
    )
    assert (response.status_code, response.json()) == (403, {"error": "forbidden"})
    assert snapshot(engine) == before


ONE_CLICK_BODIES = {
    "urlencoded": (b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded"),
    "multipart": (
        b'--b1\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        b"One-Click\r\n--b1--\r\n",
        "multipart/form-data; boundary=b1",
    ),
}


@pytest.fixture
def server(engine: Engine, customer: None) -> Iterator[BackgroundServer]:
    running = BackgroundServer(create_app(app_settings(), engine)).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize("body", ONE_CLICK_BODIES)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": "https://mail.example.net", "Sec-Fetch-Site": "cross-site"}],
    ids=["a mail provider's server", "a webmail client in a browser"],
)
def test_the_rfc_8058_one_click_post_still_unsubscribes(
    server: BackgroundServer, engine: Engine, body: str, headers: dict[str, str]
) -> None:
    content, media = ONE_CLICK_BODIES[body]
    url = f"{server.url}/unsubscribe/{sign(Purpose.UNSUBSCRIBE)}"
    response = httpx.post(url, content=content, headers={**headers, "content-type": media})
    assert (response.status_code, response.text) == (200, "unsubscribed\n")
    assert states(engine)[("email", "offers")] == "withdrawn"
    assert states(engine)[("sms", "offers")] == "granted"  # the link was for e-mail


def test_only_a_one_click_body_passes_cross_site(server: BackgroundServer, engine: Engine) -> None:
    url = f"{server.url}/unsubscribe/{sign(Purpose.UNSUBSCRIBE)}"
    cross = {"Origin": "https://evil.example", "content-type": "application/x-www-form-urlencoded"}
    before = snapshot(engine)
    for content in (
        b"confirm=yes",  # the page's own button
        b"List-Unsubscribe=one-click",
        b"List-Unsubscribe=One-Click&pad=" + b"x" * 5000,  # longer than a one-click body
        b"--b1\r\nbroken",
    ):
        assert httpx.post(url, content=content, headers=cross).status_code == 403, content
    assert snapshot(engine) == before


def test_a_form_forged_on_another_site_is_refused_in_chromium(
    server: BackgroundServer, engine: Engine, browser: Any
) -> None:
    """A page on http://attacker.example that submits the preference form by itself."""
    path, _ = FORMS["preferences"]
    forged = (
        f'<form id="f" method="post" action="{server.url}{path}">'
        '<input type="hidden" name="email:birthday" value="on"></form>'
        "<script>document.getElementById('f').submit()</script>"
    )
    before = snapshot(engine)
    page = browser.new_page(locale="fa-IR", extra_http_headers={"Accept-Language": "fa"})
    page.route(
        "http://attacker.example/",
        lambda route: route.fulfill(body=forged, content_type="text/html"),
    )
    with page.expect_navigation(url=f"{server.url}{path}") as navigation:
        page.goto("http://attacker.example/")
    assert navigation.value.status == 403
    assert "این فرم از وب‌سایت دیگری فرستاده شده است" in page.locator("#error").inner_text()
    page.close()
    assert snapshot(engine) == before


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    origin=st.one_of(
        st.none(),
        st.text(max_size=60),
        st.sampled_from(["null", "http://[::1", "https://a:99999", "http://testserver:80"]),
    ),
    fetch_site=st.one_of(
        st.none(), st.text(max_size=20), st.sampled_from(["same-origin", "NONE", " same-origin "])
    ),
    host=st.one_of(st.none(), st.text(max_size=40), st.just("testserver")),
)
def test_any_origin_sec_fetch_site_and_host_get_an_answer_not_an_error(
    client: TestClient, origin: str | None, fetch_site: str | None, host: str | None
) -> None:
    headers = {
        name: value.encode()  # as the bytes travel
        for name, value in (("Origin", origin), ("Sec-Fetch-Site", fetch_site), ("Host", host))
        if value is not None
    }
    path, data = FORMS["link request"]
    response = client.post(path, data=data, headers=headers)
    assert response.status_code in (200, 403)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Prefs.Example.com/", "https://prefs.example.com"),
        ("https://prefs.example.com:443/x", "https://prefs.example.com"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://[::1]:80/", "http://[::1]"),
        ("ftp://prefs.example.com", None),
        ("https://a:99999", None),
        ("null", None),
    ],
)
def test_origins_are_compared_in_one_form(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin
