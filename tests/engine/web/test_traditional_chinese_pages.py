"""Taiwan and Hong Kong customers read the product's pages, e-mails and texts in
Traditional Chinese (issue 17, point 9).

A customer whose record says zh_TW or zh_HK (no script) gets the zh_Hant preference
page, confirmation e-mail and SMS keyword replies, greeted by full name and signed
with the Chinese 【signature】 first, with no Simplified-only character anywhere; a
browser asking for zh-TW gets the Traditional link-request page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from factories import insert_customer
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core.models import OUTBOX
from rapport.engine.web.app import create_app
from rapport.engine.web.pages import Pages
from rapport.engine.web.sms_inbound import (
    CONFIRM_NOTHING_REPLY,
    HELP_REPLY,
    START_NOTHING_REPLY,
    STOP_REPLY,
    render_reply,
)
from tests.engine.core.test_traditional_chinese_catalog import simplified_in
from tests.engine.web.conftest import AUTH, FakeClock, webhook_settings

SECRET = "test"  # webhook_settings()'s secret_key
PHONES = {"zh_TW": "+886912345678", "zh_HK": "+85291234567"}


@pytest.fixture
def app_client(engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(webhook_settings(), engine, clock=clock)) as client:
        yield client


def token_path(purpose: Purpose, customer_id: str, channel: str = "email") -> str:
    token = Signer(SECRET).sign(purpose, TokenClaims(customer_id, channel))
    return f"/{purpose.value}/{token}"


def queued_emails(engine: Engine, customer_id: str) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(OUTBOX).where(
                    OUTBOX.c.customer_id == customer_id, OUTBOX.c.channel == "email"
                )
            )
        )


@pytest.mark.parametrize("locale", ["zh_TW", "zh_HK", "zh-Hant-TW"])
def test_the_preference_page_and_confirmation_e_mail_are_traditional(
    engine: Engine, app_client: TestClient, locale: str
) -> None:
    insert_customer(
        engine,
        "c1",
        locale=locale,
        first_name="美玲",
        last_name="林",
        email="c1@example.com",
        timezone="Asia/Taipei",
    )
    page = app_client.get(token_path(Purpose.PREFERENCES, "c1")).text
    assert '<html lang="zh-Hant"' in page
    assert "林美玲，您好！" in page and "<p>美玲，您好" not in page
    assert "您的訊息偏好設定" in page and "電子報" in page
    assert simplified_in(page) == set()

    saved = app_client.post(token_path(Purpose.PREFERENCES, "c1"), data={"email:offers": "on"})
    assert saved.status_code == 200 and simplified_in(saved.text) == set()
    [mail] = queued_emails(engine, "c1")
    assert mail.body_text.lstrip().startswith("林美玲，您好")
    for text in (mail.subject or "", mail.body_text, mail.body_html or ""):
        assert simplified_in(text) == set(), text
    assert "請確認您的訂閱" in (mail.subject or "")


def test_the_unsubscribe_page_is_traditional(engine: Engine, app_client: TestClient) -> None:
    insert_customer(engine, "c2", locale="zh_HK", email="c2@example.com")
    page = app_client.get(token_path(Purpose.UNSUBSCRIBE, "c2")).text
    assert '<html lang="zh-Hant"' in page and "行銷郵件" in page
    assert simplified_in(page) == set()


@pytest.mark.parametrize(
    ("header", "lang", "expected"),
    [
        ("zh-TW,zh;q=0.9", "zh-Hant", "寄送連結給我"),
        ("zh-HK", "zh-Hant", "寄送連結給我"),
        ("zh-CN,zh;q=0.9", "zh", "发送链接"),
    ],
)
def test_the_link_request_page_follows_the_browser(
    app_client: TestClient, header: str, lang: str, expected: str
) -> None:
    page = app_client.get("/preferences", headers={"accept-language": header}).text
    assert f'<html lang="{lang}"' in page and expected in page
    # The language travels in the form and the links as the page's BCP 47 tag.
    assert f'name="lang" value="{lang}"' in page
    again = app_client.get(f"/preferences?lang={lang}").text
    assert f'<html lang="{lang}"' in again


@pytest.mark.parametrize("locale", ["zh_TW", "zh_HK"])
def test_a_keyword_reply_to_a_taiwan_or_hong_kong_customer_is_traditional(
    engine: Engine, app_client: TestClient, locale: str
) -> None:
    insert_customer(engine, "c1", locale=locale, phone=PHONES[locale], timezone="UTC")
    response = app_client.post(
        "/webhooks/sms/inbound", json={"from": PHONES[locale], "text": "STOP"}, headers=AUTH
    )
    reply = response.json()["reply"]
    assert reply.startswith("【Rapport】") and "退訂" in reply and "行銷簡訊" in reply
    assert simplified_in(reply) == set()


@pytest.mark.parametrize(
    "message", [STOP_REPLY, HELP_REPLY, START_NOTHING_REPLY, CONFIRM_NOTHING_REPLY]
)
def test_every_traditional_reply_is_signed_first_and_names_honoured_words(message: str) -> None:
    reply = render_reply("zh_Hant", message, webhook_settings())
    assert reply.startswith("【Rapport】") and simplified_in(reply) == set()
    # The local keywords are Simplified (退订, 帮助): a Traditional text asks for the
    # English words every number honours, never for a word it would not understand.
    assert "TD" not in reply and "帮助" not in reply and "「" not in reply


def test_pages_translate_for_the_customer_locale_script_included() -> None:
    pages = Pages("Rapport")
    assert pages.gettext("zh_TW", "Unsubscribe") == "退訂"
    assert pages.gettext("zh_CN", "Unsubscribe") == "退订"
    assert pages.gettext("zh-HK", "Send me a new link") == "重新寄送連結給我"
