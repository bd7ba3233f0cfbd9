"""The marketer's preview pages, ``/admin/campaigns`` (issue 19, point 5).

On a copy of the repository's campaigns and templates plus two made for the test:
``scripted`` (an e-mail whose HTML holds a ``<script>``, an ``onerror`` handler and
quotes that must survive the ``srcdoc`` attribute) and ``broken`` (a template that
fails to render). The last tests open the pages in Chromium: the list, a Persian
page laid out right to left, the sandboxed frame in which the script never runs, and
the SMS segment count the page shows against :func:`count_sms`.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from factories import REPO, insert_customer
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.engine.core.config import Settings, WebConfig
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import MessageStatus
from rapport.engine.delivery.outbox import enqueue, outbox_row
from rapport.engine.rendering.sms_encoding import count_sms
from rapport.engine.web.admin import planned_sends
from rapport.engine.web.app import create_app
from rapport.engine.web.campaign_pages import PREVIEW_POLICY
from rapport.engine.web.server import BackgroundServer

ADMIN = "preview-admin-token"
NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
BEARER = {"Authorization": f"Bearer {ADMIN}"}
#: (locale folder, lang attribute, direction) of some of the repository's locales.
DIRECTIONS = [("en", "en", "ltr"), ("fa", "fa", "rtl"), ("zh_Hant", "zh-Hant", "ltr")]

SCRIPTED_YAML = """name: Scripted "quotes" & <tags>
trigger: {type: recurring, cron: "0 10 1 * *"}
topic: offers
channels: [email, sms]
"""
#: A template may hold anything; the preview must show it and run none of it.
SCRIPTED_HTML = (
    '<html><body><p title="a &quot;quoted&quot; title">Hello {{ customer.first_name }} '
    "&amp; friends</p>"
    "<script>document.body.setAttribute('data-ran', 'yes'); parent.document.title = 'hacked'"
    "</script><img src=\"x\" onerror=\"document.body.setAttribute('data-ran', 'img')\">"
    "</body></html>"
)
BROKEN_YAML = """name: Broken
trigger: {type: birthday}
topic: birthday
channels: [email]
"""


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's campaigns and templates, plus ``scripted`` and ``broken``."""
    root = tmp_path_factory.mktemp("preview")
    shutil.copytree(REPO / "campaigns", root / "campaigns")
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "campaigns" / "scripted.yaml").write_text(SCRIPTED_YAML, encoding="utf-8")
    (root / "campaigns" / "broken.yaml").write_text(BROKEN_YAML, encoding="utf-8")
    for locale in ("en", "fa"):
        folder = root / "templates" / "scripted" / locale
        folder.mkdir(parents=True)
        (folder / "email_subject.txt").write_text("Hi {{ customer.first_name }}", "utf-8")
        (folder / "email.txt").write_text("Hello {{ customer.first_name }}", "utf-8")
        (folder / "email.html").write_text(SCRIPTED_HTML, "utf-8")
        (folder / "sms.txt").write_text("{{ customer.first_name }} " + "x" * 170, "utf-8")
    broken = root / "templates" / "broken" / "en"
    broken.mkdir(parents=True)
    (broken / "email_subject.txt").write_text("Hi", "utf-8")
    (broken / "email.txt").write_text("{{ customer.first_name | no_such_filter }}", "utf-8")
    return root


def settings_for(tree: Path, token: str | None = ADMIN) -> Settings:
    return Settings(
        base_dir=tree,
        secret_key="preview-secret",
        web=WebConfig(report_token=token, access_log=True),
    )


@pytest.fixture(scope="module")
def app_engine(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("preview-db") / "rapport.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    insert_customer(engine, "P1", first_name="Mina", locale="fa_IR", country="IR")
    insert_customer(engine, "P2", first_name="Lea", locale="en", country="FR")
    queue(engine, [("P1", "2026-12-07T09:00", "queued"), ("P2", "2026-12-07T10:00", "queued")])
    try:
        yield engine
    finally:
        engine.dispose()


def queue(engine: Engine, messages: list[tuple[str, str, str]]) -> None:
    """Birthday e-mails in the outbox: (customer, send_at in UTC, status)."""
    rows = [
        outbox_row(
            customer_id=customer,
            campaign="birthday",
            occasion=f"birthday:{n}",
            channel="email",
            topic="birthday",
            locale="en",
            status=MessageStatus(status),
            send_at=datetime.fromisoformat(when).replace(tzinfo=UTC),
            created_at=NOW,
        )
        for n, (customer, when, status) in enumerate(messages)
    ]
    with engine.begin() as connection:
        enqueue(connection, rows)


@pytest.fixture(scope="module")
def client(tree: Path, app_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(tree), app_engine, clock=lambda: NOW)) as running:
        yield running


# -- the token --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/campaigns", "/admin/campaigns/birthday"])
def test_the_pages_need_the_admin_token(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get(path, headers=BEARER).status_code == 200
    assert client.get(f"{path}?token={ADMIN}").status_code == 200


def test_without_a_configured_token_the_pages_are_off(tree: Path, app_engine: Engine) -> None:
    with TestClient(create_app(settings_for(tree, token=None), app_engine)) as off:
        assert off.get("/admin/campaigns").status_code == 503


def test_the_token_never_reaches_the_access_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="rapport.web.access"):
        client.get(f"/admin/campaigns/birthday?token={ADMIN}&customer=P1")
    assert "/admin/campaigns/{name}" in caplog.text
    assert ADMIN not in caplog.text and "P1" not in caplog.text


def test_the_pages_allow_no_script(client: TestClient) -> None:
    answer = client.get("/admin/campaigns/birthday", headers=BEARER)
    assert answer.headers["content-security-policy"] == PREVIEW_POLICY
    assert "script-src 'none'" in PREVIEW_POLICY
    assert "<script" not in answer.text.replace("&lt;script", "")


# -- the list -----------------------------------------------------------------------------


def test_the_list_shows_each_campaign_with_its_trigger_and_next_occasions(
    client: TestClient,
) -> None:
    page = client.get("/admin/campaigns", headers=BEARER).text
    assert page.count('<tr class="campaign">') == len(list((REPO / "campaigns").glob("*.yaml"))) + 2
    assert '<a href="campaigns/birthday"><bdi>Birthday greeting</bdi></a>' in page
    # recurring: the same dates for everyone; holiday: in the customers' countries
    assert "<code>recurring (cron: 0 10 1 * *)</code>" in page
    assert "<li><time>2027-01-01</time></li><li><time>2027-02-01</time></li>" in page
    assert "<time>2026-12-25</time> Christmas Day (FR)" in page
    assert "on each customer&#x27;s own day" in page
    # what the planner found already, whatever the trigger
    assert '<li class="planned"><time>2026-12-07</time> planned: 2 messages</li>' in page


def test_planned_sends_are_queued_messages_still_to_send_by_campaign_and_day(
    engine: Engine,
) -> None:
    insert_customer(engine, "Q1")
    queue(
        engine,
        [
            ("Q1", "2026-12-07T23:30", "queued"),
            ("Q1", "2026-12-08T00:30", "queued"),
            ("Q1", "2026-12-08T01:00", "queued"),
            ("Q1", "2026-12-07T08:00", "sent"),
            ("Q1", "2026-12-06T08:00", "queued"),  # due before now: not ahead
        ],
    )
    found = planned_sends(engine, NOW)
    assert found == {"birthday": [("2026-12-07", 1), ("2026-12-08", 2)]}


def test_links_carry_the_token_only_when_it_came_in_the_query(client: TestClient) -> None:
    by_query = client.get(f"/admin/campaigns?token={ADMIN}").text
    assert f'href="campaigns/birthday?token={ADMIN}"' in by_query
    assert ADMIN not in client.get("/admin/campaigns", headers=BEARER).text


# -- a campaign -------------------------------------------------------------------------


def test_each_locale_has_its_email_and_sms_with_lang_and_direction(client: TestClient) -> None:
    page = client.get("/admin/campaigns/birthday", headers=BEARER).text
    for locale, lang, direction in DIRECTIONS:
        section = page.split(f'id="locale-{locale}"')[1].split("</section>")[0]
        assert f'<p class="subject" lang="{lang}" dir="{direction}">' in section
        assert '<iframe class="email" sandbox=""' in section
        assert f'<pre class="sms" lang="{lang}" dir="{direction}">' in section
    assert '<span class="sms-encoding">UCS-2</span>' in page
    assert '<span class="sms-encoding">GSM-7</span>' in page


def test_the_email_html_is_escaped_into_srcdoc(client: TestClient) -> None:
    page = client.get("/admin/campaigns/scripted", headers=BEARER).text
    assert "&lt;script&gt;document.body.setAttribute(&#x27;data-ran&#x27;" in page
    assert "title=&quot;a &amp;quot;quoted&amp;quot; title&quot;" in page
    assert "<h1><bdi>Scripted &quot;quotes&quot; &amp; &lt;tags&gt;" in page


def test_a_real_customer_is_rendered_with_their_own_data(client: TestClient) -> None:
    page = client.get("/admin/campaigns/birthday?customer=P1", headers=BEARER).text
    assert "Mina" in page and "Alex" not in page
    assert "customer P1, whose locale is fa_IR" in page
    assert 'value="P1"' in page  # the form keeps the chosen customer


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/admin/campaigns/birthday?customer=NOBODY", "no customer with id &#x27;NOBODY&#x27;"),
        ("/admin/campaigns/nope", "no campaign &#x27;nope&#x27;"),
    ],
)
def test_an_unknown_customer_or_campaign_is_a_clear_404(
    client: TestClient, path: str, said: str
) -> None:
    answer = client.get(path, headers=BEARER)
    assert answer.status_code == 404
    assert f"There is {said}." in answer.text


@pytest.mark.parametrize("day", ["2026-02-30", "9999-12-31", "soon", "20270321", "2027-W12-7"])
def test_a_bad_date_is_a_400_saying_what_is_wanted(client: TestClient, day: str) -> None:
    answer = client.get(f"/admin/campaigns/birthday?date={day}", headers=BEARER)
    assert answer.status_code == 400
    assert "YYYY-MM-DD, in the years 2000 to 2100" in answer.text


def test_another_day_can_be_previewed(client: TestClient) -> None:
    page = client.get("/admin/campaigns/birthday?date=2027-03-21", headers=BEARER).text
    assert "<dt>Day</dt><dd>2027-03-21</dd>" in page


def test_a_day_in_persian_digits_is_previewed_as_that_day(client: TestClient) -> None:
    page = client.get("/admin/campaigns/birthday?date=۲۰۲۷-۰۳-۲۱", headers=BEARER).text
    assert "<dt>Day</dt><dd>2027-03-21</dd>" in page


def test_a_template_that_fails_is_shown_as_its_problem_not_a_500(client: TestClient) -> None:
    answer = client.get("/admin/campaigns/broken", headers=BEARER)
    assert answer.status_code == 200
    assert '<ul class="problems" role="alert"><li>' in answer.text
    assert "templates/broken/en/email.txt" in answer.text and "no_such_filter" in answer.text


# -- in a real browser -----------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tree: Path, app_engine: Engine) -> Iterator[BackgroundServer]:
    running = BackgroundServer(create_app(settings_for(tree), app_engine)).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def page(browser: Any, server: BackgroundServer) -> Iterator[Any]:
    opened = browser.new_page()
    opened.console_messages = []
    opened.on("console", lambda message: opened.console_messages.append(message.text))
    try:
        yield opened
    finally:
        opened.close()


def test_chromium_shows_the_list_with_working_links(page: Any, server: BackgroundServer) -> None:
    page.goto(f"{server.url}/admin/campaigns?token={ADMIN}")
    assert page.locator("tr.campaign").count() >= 10
    page.click("text=Birthday greeting")
    assert page.url.endswith(f"/admin/campaigns/birthday?token={ADMIN}")
    assert page.locator("section.locale").count() == 4


def test_chromium_lays_out_the_persian_messages_right_to_left(
    page: Any, server: BackgroundServer
) -> None:
    page.goto(f"{server.url}/admin/campaigns/birthday?token={ADMIN}")
    for selector in ("#locale-fa .subject", "#locale-fa .sms", "#locale-fa .email-text"):
        element = page.locator(selector)
        assert element.get_attribute("dir") == "rtl"
        assert element.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert page.locator("#locale-en .sms").evaluate("e => getComputedStyle(e).direction") == "ltr"
    frame = page.frame_locator("#locale-fa iframe.email")
    assert frame.locator("html").evaluate("e => getComputedStyle(e).direction") == "rtl"


def test_chromium_runs_no_script_of_a_template(page: Any, server: BackgroundServer) -> None:
    page.console_messages.clear()
    page.goto(f"{server.url}/admin/campaigns/scripted?token={ADMIN}")
    frame = page.frame_locator("#locale-en iframe.email")
    assert "Hello" in frame.locator("p").inner_text()  # the e-mail itself is shown
    assert frame.locator("body").get_attribute("data-ran") is None
    assert page.title() != "hacked"
    sandbox = page.locator("#locale-en iframe.email").get_attribute("sandbox")
    assert sandbox == ""  # no allow-scripts, no allow-same-origin
    blocked = [m for m in page.console_messages if "sandboxed" in m or "Content Security" in m]
    assert blocked, page.console_messages  # Chromium says it refused the script


def test_chromium_shows_the_sms_segment_count_of_the_text_shown(
    page: Any, server: BackgroundServer
) -> None:
    page.goto(f"{server.url}/admin/campaigns/scripted?token={ADMIN}")
    for locale in ("en", "fa"):
        text = page.locator(f"#locale-{locale} pre.sms").inner_text()
        counted = count_sms(text)
        assert counted.segments > 1  # 170 characters and a name do not fit in one
        shown = page.locator(f"#locale-{locale} .sms-segments").inner_text()
        assert int(shown) == counted.segments
        assert page.locator(f"#locale-{locale} .sms-encoding").inner_text() == counted.encoding
