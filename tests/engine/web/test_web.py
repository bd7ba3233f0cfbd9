"""The customer side of consent, against the real web app served by uvicorn.

Pages are opened in headless Chromium; one-click and webhook-style calls are made
with a plain HTTP client, as a mail client or provider would.
"""

from __future__ import annotations

import shutil
import subprocess
import time as time_module
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import itsdangerous.timed
import pytest
from factories import REPO, consent_trail, insert_customer
from sqlalchemy import Engine, insert, select

from rapport.consent.links import confirm_link, links_for
from rapport.consent.state import current_states
from rapport.consent.store import ConsentChange, record_consent
from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.campaigns.model import require_campaigns
from rapport.engine.core.config import Settings
from rapport.engine.core.models import ORDERS, OUTBOX
from rapport.engine.planning.plan import run_plan
from rapport.engine.rendering.renderer import Renderer
from rapport.engine.web.app import create_app
from rapport.engine.web.server import BackgroundServer

SECRET = "web-test-secret"
NOWRUZ = date(2027, 3, 21)


@pytest.fixture
def settings() -> Settings:
    return Settings(base_dir=REPO, secret_key=SECRET)


@pytest.fixture
def server(engine: Engine, settings: Settings) -> Iterator[BackgroundServer]:
    running = BackgroundServer(create_app(settings, engine)).start()
    try:
        yield running
    finally:
        running.stop()


def add_customer(engine: Engine, customer_id: str, **values: Any) -> None:
    row = {
        "first_name": "سارا",
        "last_name": "احمدی",
        "email": f"{customer_id.lower()}@example.com",
        "phone": "+989121234567",
        "country": "IR",
        **values,
    }
    with engine.begin() as connection:
        insert_customer(connection, customer_id, **row)
        connection.execute(
            insert(ORDERS).values(
                id=f"O-{customer_id}",
                customer_id=customer_id,
                sku="SERUM-30ML",
                quantity=1,
                amount=2000000,
                currency="IRR",
                ordered_at=datetime(2027, 1, 10, tzinfo=UTC),
            )
        )


def give(engine: Engine, customer_id: str, *pairs: tuple[str, str]) -> None:
    moment = datetime(2025, 6, 1, tzinfo=UTC)
    with engine.begin() as connection:
        record_consent(
            connection,
            [ConsentChange(customer_id, c, t, "granted", "signup_form", moment) for c, t in pairs],
            recorded_at=moment,
        )


def link(settings: Settings, purpose: str, customer_id: str, channel: str = "email") -> str:
    return links_for(customer_id, channel, settings, Signer(SECRET))[purpose]


def local(url: str, server: BackgroundServer) -> str:
    return url.replace(Settings().web.base_url, server.url)


def states(engine: Engine, customer_id: str) -> dict[tuple[str, str], str]:
    with engine.connect() as connection:
        return {(s.channel, s.topic): s.status for s in current_states(connection, customer_id)}


def drawn_with(page: Any, selector: str) -> set[str]:
    """The font families Chromium drew a node's text with (DevTools' platform fonts)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return {font["familyName"] for font in fonts}


def assert_legible(page: Any, selector: str, language: str) -> None:
    """The text was drawn by a font that has its script, not as empty boxes.

    A screenshot is only evidence if a person can read it: without a font for the
    script (e.g. no CJK font installed) Chromium draws boxes and the DOM still passes.
    """
    # fontconfig (fc-list) comes with Chromium: a browser without it is a broken set-up.
    assert shutil.which("fc-list"), "fc-list (fontconfig) is missing"
    listing = subprocess.run(
        ["fc-list", f":lang={language}", "family"], capture_output=True, text=True, check=True
    ).stdout
    covering = {name.strip() for line in listing.splitlines() for name in line.split(",")}
    drawn = drawn_with(page, selector)
    assert drawn & covering, (
        f"{selector} was drawn with {sorted(drawn)}, none of which has {language} glyphs;"
        " install a font for it (fonts-noto-cjk for Chinese)"
    )


def plan_nowruz(engine: Engine, settings: Settings, dry_run: bool = True):  # type: ignore[no-untyped-def]
    return run_plan(
        engine,
        settings,
        require_campaigns(settings),
        NOWRUZ,
        datetime.combine(NOWRUZ, time(0), tzinfo=UTC) - timedelta(hours=14),
        renderer=Renderer(settings.templates_path, settings.locales.default),
        signer=Signer(SECRET),
        dry_run=dry_run,
    )


def test_persian_preference_page_is_rtl_and_saving_withdraws_sms_offers(
    engine: Engine, settings: Settings, server: BackgroundServer, browser: Any, tmp_path: Path
) -> None:
    add_customer(engine, "FA1")
    give(engine, "FA1", ("sms", "offers"), ("sms", "birthday"))
    before = plan_nowruz(engine, settings)
    assert before.planned[("holiday-offer", "sms", "fa")] == 1

    page = browser.new_page()
    page.goto(local(link(settings, "preferences", "FA1"), server))
    html = page.locator("html")
    assert html.get_attribute("dir") == "rtl" and html.get_attribute("lang") == "fa"
    assert page.locator("h1").inner_text() == "تنظیمات پیام‌های شما"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert_legible(page, "h1", "fa")
    assert page.locator("#sms\\:offers").is_checked()
    page.locator("#sms\\:offers").uncheck()
    page.locator("#save").click()
    page.wait_for_selector("#saved")
    page.screenshot(path=str(tmp_path / "preferences-fa.png"), full_page=True)
    page.close()

    last = consent_trail(engine, "FA1")[-1]
    assert (last.channel, last.topic, last.status, last.source) == (
        "sms",
        "offers",
        "withdrawn",
        "preference_center",
    )
    assert last.locale == "fa_IR" and last.user_agent and last.ip == "127.0.0.1"
    assert states(engine, "FA1")[("sms", "birthday")] == "granted"  # untouched
    after = plan_nowruz(engine, settings)
    assert not [key for key in after.planned if key[1] == "sms" and key[0] == "holiday-offer"]


def test_chinese_preference_page_is_in_chinese(
    engine: Engine, settings: Settings, server: BackgroundServer, browser: Any, tmp_path: Path
) -> None:
    add_customer(
        engine,
        "ZH1",
        first_name="伟",
        last_name="王",
        locale="zh_CN",
        timezone="Asia/Shanghai",
        country="CN",
        phone="+8613812345678",
    )
    give(engine, "ZH1", ("email", "birthday"))
    page = browser.new_page()
    page.goto(local(link(settings, "preferences", "ZH1"), server))
    assert page.locator("html").get_attribute("lang") == "zh"
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert page.evaluate("getComputedStyle(document.body).direction") == "ltr"
    assert page.locator("h1").inner_text() == "您的消息偏好设置"
    assert page.title() == "您的消息偏好设置"
    assert "伟" in page.locator("main p").first.inner_text()
    headers = page.locator("thead th").all_inner_texts()
    assert headers[0] == "主题" and {"电子邮件", "短信"} <= set(headers[1:])
    assert "生日祝福" in page.locator("tbody").inner_text()
    assert page.locator("#email\\:birthday").is_checked()
    assert page.locator("#save").inner_text() == "保存我的选择"
    assert_legible(page, "h1", "zh-cn")
    page.screenshot(path=str(tmp_path / "preferences-zh.png"), full_page=True)
    assert (tmp_path / "preferences-zh.png").stat().st_size > 10_000
    page.close()


def test_arabic_pages_come_from_a_catalog_alone_and_are_rtl(
    engine: Engine, settings: Settings
) -> None:
    """Arabic has no code of its own: its catalog makes the pages Arabic and RTL."""
    from starlette.testclient import TestClient

    add_customer(
        engine,
        "AR1",
        first_name="ليلى",
        last_name="حسن",
        locale="ar_EG",
        timezone="Africa/Cairo",
        country="EG",
        phone="+201001234567",
    )
    with TestClient(create_app(settings, engine)) as client:
        base = Settings().web.base_url
        page = client.get(link(settings, "preferences", "AR1").replace(base, ""))
        unsubscribe = client.get(link(settings, "unsubscribe", "AR1", "sms").replace(base, ""))
        request = client.get("/preferences", headers={"Accept-Language": "ar-EG,ar;q=0.9"})
    assert page.status_code == 200
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "<h1>تفضيلات التواصل الخاصة بك</h1>" in page.text
    assert "مرحبًا ليلى، اختر الرسائل" in page.text
    assert "احفظ اختياراتي" in page.text and "Save my choices" not in page.text
    assert '<html lang="ar" dir="rtl">' in unsubscribe.text
    assert "هل تريد إيقاف جميع الرسائل النصية التسويقية" in unsubscribe.text
    assert '<html lang="ar" dir="rtl">' in request.text


def test_one_click_post_withdraws_and_answers_200_twice(
    engine: Engine, settings: Settings, server: BackgroundServer
) -> None:
    add_customer(engine, "OC1")
    give(engine, "OC1", ("email", "offers"), ("email", "birthday"), ("sms", "offers"))
    url = local(link(settings, "unsubscribe", "OC1"), server)
    with httpx.Client(follow_redirects=False) as client:
        first = client.post(
            url,
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        events_after_first = len(consent_trail(engine, "OC1"))
        second = client.post(
            url,
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert (first.status_code, second.status_code) == (200, 200)
    assert "set-cookie" not in first.headers and "location" not in first.headers
    assert len(consent_trail(engine, "OC1")) == events_after_first  # idempotent: nothing new
    now = states(engine, "OC1")
    assert now[("email", "offers")] == now[("email", "birthday")] == "withdrawn"
    assert now[("sms", "offers")] == "granted"  # the link was for e-mail


def test_unsubscribe_get_only_shows_a_button(
    engine: Engine, settings: Settings, server: BackgroundServer
) -> None:
    add_customer(engine, "GET1")
    give(engine, "GET1", ("email", "offers"))
    response = httpx.get(local(link(settings, "unsubscribe", "GET1"), server))
    assert response.status_code == 200
    assert 'id="unsubscribe"' in response.text
    assert states(engine, "GET1") == {("email", "offers"): "granted"}
    assert len(consent_trail(engine, "GET1")) == 1


def test_bad_tokens_get_the_same_404_as_unknown_ones(
    engine: Engine, settings: Settings, server: BackgroundServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_customer(engine, "TOK1")
    signer = Signer(SECRET)
    good = signer.sign(Purpose.PREFERENCES, TokenClaims("TOK1", "email"))
    flipped = good[:-3] + ("A" if good[-3] != "A" else "B") + good[-2:]
    wrong_purpose = signer.sign(Purpose.UNSUBSCRIBE, TokenClaims("TOK1", "email"))
    unknown_customer = signer.sign(Purpose.PREFERENCES, TokenClaims("NOBODY", "email"))
    # A token signed long ago: itsdangerous takes the signing time from this method.
    long_ago = datetime.now(UTC) - timedelta(days=settings.web.preference_link_days + 1)
    monkeypatch.setattr(
        itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: int(long_ago.timestamp())
    )
    stale = Signer(SECRET).sign(Purpose.PREFERENCES, TokenClaims("TOK1", "email"))
    monkeypatch.undo()

    with httpx.Client(base_url=server.url) as client:
        assert client.get(f"/preferences/{good}").status_code == 200
        answers = [
            client.get(f"/preferences/{token}")
            for token in (flipped, wrong_purpose, unknown_customer, stale, "garbage")
        ]
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1


def test_web_email_grant_stays_pending_until_confirmed(
    engine: Engine, settings: Settings, server: BackgroundServer, browser: Any
) -> None:
    add_customer(
        engine,
        "DOI1",
        first_name="Alex",
        last_name="Morgan",
        locale="en_US",
        timezone="America/New_York",
        country="US",
    )
    page = browser.new_page()
    page.goto(local(link(settings, "preferences", "DOI1"), server))
    page.locator("#email\\:offers").check()
    page.locator("#save").click()
    page.wait_for_selector("#saved")
    assert "confirm" in page.locator("#saved").inner_text()
    assert states(engine, "DOI1") == {("email", "offers"): "pending"}

    with engine.connect() as connection:
        queued = connection.execute(select(OUTBOX).where(OUTBOX.c.customer_id == "DOI1")).all()
    assert [(m.campaign, m.transactional) for m in queued] == [("_confirm", True)]
    assert plan_nowruz(engine, settings).planned_total == 0  # pending is not consent
    confirm_url = next(word for word in queued[0].body_text.split() if word.startswith("http"))

    page.goto(local(confirm_url, server))
    page.locator("#confirm").click()
    page.wait_for_selector("#done")
    page.close()
    assert states(engine, "DOI1") == {("email", "offers"): "granted"}
    assert [(e.status, e.source) for e in consent_trail(engine, "DOI1")] == [
        ("pending", "preference_center"),
        ("granted", "double_opt_in"),
    ]


def test_a_confirm_link_used_after_a_withdrawal_says_nothing_was_confirmed(
    engine: Engine, settings: Settings, server: BackgroundServer
) -> None:
    """Switched on (pending), then unsubscribed, then the confirmation link: the
    withdrawal stands, and the page must say so. Before, it said "Thank you, your
    subscription is confirmed." while nothing had been granted, so the customer
    believed they were subscribed."""
    add_customer(engine, "DOI2", locale="en_US", timezone="America/New_York", country="US")
    asked, withdrawn = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC)
    with engine.begin() as connection:
        record_consent(
            connection,
            [ConsentChange("DOI2", "email", "offers", "pending", "preference_center", asked)],
            recorded_at=asked,
        )
        record_consent(
            connection,
            [ConsentChange("DOI2", "email", "offers", "withdrawn", "unsubscribe_link", withdrawn)],
            recorded_at=withdrawn,
        )
    path = urlsplit(confirm_link("DOI2", settings, Signer(SECRET))).path
    with httpx.Client(base_url=server.url) as client:
        shown, answered = client.get(path), client.post(path)
    assert shown.status_code == answered.status_code == 200
    for page in (shown, answered):
        assert "is confirmed" not in page.text and 'id="confirm"' not in page.text
        assert 'id="nothing"' in page.text and "/preferences/" in page.text
    assert states(engine, "DOI2") == {("email", "offers"): "withdrawn"}


def test_one_click_unsubscribe_stops_every_record_with_that_address(
    engine: Engine, settings: Settings, server: BackgroundServer
) -> None:
    """A CRM that holds one person twice (a shop account and a newsletter sign-up)
    mails one inbox under two ids. Unsubscribing from one message withdrew one id only,
    and the other's messages kept arriving, the same day even; a complaint and an SMS
    STOP already act on every customer with the address. So does the link now."""
    add_customer(engine, "DUP1", email="dee.one@example.com")
    add_customer(engine, "DUP2", email="Dee.One@example.com")
    add_customer(engine, "OTHER", email="someone.else@example.com")
    for customer_id in ("DUP1", "DUP2", "OTHER"):
        give(engine, customer_id, ("email", "offers"), ("email", "birthday"), ("sms", "offers"))
    path = local(link(settings, "unsubscribe", "DUP1"), server).removeprefix(server.url)
    with httpx.Client(base_url=server.url) as client:
        answer = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    withdrawn = {("email", "offers"): "withdrawn", ("email", "birthday"): "withdrawn"}
    assert (
        states(engine, "DUP1")
        == states(engine, "DUP2")
        == {
            **withdrawn,
            ("sms", "offers"): "granted",
        }
    )
    assert set(states(engine, "OTHER").values()) == {"granted"}


def test_link_request_answers_the_same_for_known_and_unknown_addresses(
    engine: Engine, settings: Settings, server: BackgroundServer
) -> None:
    add_customer(engine, "LNK1")
    with httpx.Client(base_url=server.url) as client:
        known = client.post("/preferences", data={"email": "lnk1@example.com", "lang": "en"})
        unknown = client.post("/preferences", data={"email": "nobody@example.com", "lang": "en"})
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text

    def queued() -> list[tuple[str, str]]:
        with engine.connect() as connection:
            rows = connection.execute(select(OUTBOX.c.customer_id, OUTBOX.c.campaign)).all()
        return [tuple(r) for r in rows]

    # The e-mail is queued after the answer is sent, so the timing tells nothing.
    deadline = time_module.monotonic() + 10
    while not queued() and time_module.monotonic() < deadline:
        time_module.sleep(0.05)
    time_module.sleep(0.2)  # give a (wrong) second e-mail the chance to show up
    assert queued() == [("LNK1", "_link")]


def test_link_requests_are_rate_limited(
    engine: Engine, settings: Settings, server: BackgroundServer
) -> None:
    limit = settings.web.link_requests_per_hour
    with httpx.Client(base_url=server.url) as client:
        codes = [
            client.post("/preferences", data={"email": f"x{i}@example.com"}).status_code
            for i in range(limit + 1)
        ]
    assert codes == [200] * limit + [429]
