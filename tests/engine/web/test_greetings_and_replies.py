"""The product's own pages, e-mails and texts greet and sign as each language does.

Issue 17, points 5 and 6: the preference page and the confirmation and link e-mails
open with the customer's salutation (a Chinese customer is greeted by full name,
family name first, never by given name alone; a Persian one formally); every SMS
keyword reply and reply-YES text in Persian or Arabic starts with a right-to-left
character (the brand after the text), and a Chinese one with its 【signature】.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from factories import insert_customer
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from rapport.channels.mime import strip_bidi_controls
from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core.config import Settings
from rapport.engine.core.keywords import KeywordAction, reply_word
from rapport.engine.core.models import OUTBOX
from rapport.engine.core.sender import sms_signature
from rapport.engine.rendering.locales import salutation
from rapport.engine.web.app import create_app
from rapport.engine.web.pages import Pages
from rapport.engine.web.sms_inbound import (
    CONFIRM_NOTHING_REPLY,
    CONFIRM_REPLY,
    HELP_REPLY,
    START_NOTHING_REPLY,
    START_REPLY,
    STOP_REPLY,
    render_reply,
)
from tests.engine.web.conftest import AUTH, PHONES, FakeClock, webhook_settings

REPLIES = [
    STOP_REPLY,
    START_REPLY,
    START_NOTHING_REPLY,
    CONFIRM_REPLY,
    CONFIRM_NOTHING_REPLY,
    HELP_REPLY,
]
SECRET = "test"  # webhook_settings()'s secret_key


def first_strong(text: str) -> str | None:
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("L", "R", "AL"):
            return kind
    return None


def with_sender(settings: Settings, **values: Any) -> Settings:
    return settings.model_copy(update={"sender": settings.sender.model_copy(update=values)})


# --------------------------------------------------------------------------- SMS texts


@pytest.mark.parametrize("language", ["fa", "ar"])
@pytest.mark.parametrize("message", REPLIES)
def test_every_right_to_left_keyword_reply_starts_right_to_left(
    language: str, message: str
) -> None:
    for settings in (
        webhook_settings(),
        with_sender(webhook_settings(), sms_signature={"fa": "رپورت"}),
    ):
        reply = render_reply(language, message, settings)
        assert first_strong(reply) in ("R", "AL"), reply
        assert reply.endswith(" " + sms_signature(settings.sender, language))


@pytest.mark.parametrize("message", REPLIES)
def test_chinese_replies_start_with_the_signature_and_english_with_the_brand(
    message: str,
) -> None:
    settings = webhook_settings()
    zh = render_reply("zh", message, settings)
    assert zh.startswith("【Rapport】") and not zh.startswith("【Rapport】：")
    assert zh.count("Rapport") == 1
    assert render_reply("en", message, settings).startswith("Rapport: ")
    custom = with_sender(settings, brand="乐享", sms_signature={"zh": "【{brand}商城】"})
    assert render_reply("zh", message, custom).startswith("【乐享商城】")


@pytest.mark.parametrize(
    ("language", "check"),
    [
        ("fa", lambda text: first_strong(text) in ("R", "AL") and text.endswith(" رپورت")),
        ("ar", lambda text: first_strong(text) in ("R", "AL") and text.endswith(" رپورت")),
        ("zh", lambda text: text.startswith("【Rapport】") and "【Rapport】：" not in text),
        ("en", lambda text: text.startswith("Rapport: Reply YES")),
    ],
)
def test_the_reply_yes_text_is_signed_as_its_language_signs(language: str, check: Any) -> None:
    settings = with_sender(webhook_settings(), sms_signature={"fa": "رپورت", "ar": "رپورت"})
    text = (
        Pages(settings.sender.brand)
        .render(
            "sms_confirm.txt",
            language,
            word=reply_word(KeywordAction.CONFIRM, language),
            help_word=reply_word(KeywordAction.HELP, language),
            stop_word=reply_word(KeywordAction.STOP, language),
            signature=sms_signature(settings.sender, language),
        )
        .strip()
    )
    assert check(text), text


def test_a_persian_stop_reply_through_the_webhook_starts_right_to_left(
    engine: Engine, client: TestClient
) -> None:
    insert_customer(engine, "c1", locale="fa_IR", phone=PHONES["fa_IR"])
    response = client.post(
        "/webhooks/sms/inbound",
        json={"from": PHONES["fa_IR"], "text": "STOP"},
        headers=AUTH,
    )
    reply = response.json()["reply"]
    assert first_strong(reply) == "AL" and reply.endswith(" Rapport")


# --------------------------------------------------------------------------- pages, e-mails


@pytest.fixture
def greeting_client(engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(webhook_settings(), engine, clock=clock)) as client:
        yield client


def page_path(customer_id: str) -> str:
    token = Signer(SECRET).sign(Purpose.PREFERENCES, TokenClaims(customer_id, "email"))
    return f"/{Purpose.PREFERENCES.value}/{token}"


def queued_emails(engine: Engine, customer_id: str) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(OUTBOX).where(
                    OUTBOX.c.customer_id == customer_id, OUTBOX.c.channel == "email"
                )
            )
        )


@pytest.mark.parametrize(
    ("locale", "first", "last", "greeting", "not_alone"),
    [
        ("zh_Hans_CN", "芳", "王", "王芳，您好！", "<p>芳，您好"),
        ("zh", "光伟", "黄", "黄光伟，您好！", "<p>光伟，您好"),
        ("fa_IR", "سارا", "احمدی", "سارا احمدی گرامی،", "سارا عزیز"),
        ("en", "Alex", "Morgan", "Hi Alex, choose", "Hello Alex"),
    ],
)
def test_the_preference_page_and_confirmation_e_mail_use_the_salutation(
    engine: Engine,
    greeting_client: TestClient,
    locale: str,
    first: str,
    last: str,
    greeting: str,
    not_alone: str,
) -> None:
    insert_customer(
        engine,
        "c1",
        locale=locale,
        first_name=first,
        last_name=last,
        email="c1@example.com",
    )
    page = greeting_client.get(page_path("c1")).text
    assert greeting in page and not_alone not in page

    saved = greeting_client.post(page_path("c1"), data={"email:offers": "on"})
    assert saved.status_code == 200
    [mail] = queued_emails(engine, "c1")
    opening = mail.body_text.lstrip().splitlines()[0]
    assert opening.startswith(greeting.split(" choose")[0].rstrip(","))
    assert greeting.split(" choose")[0].rstrip(",") in (mail.body_html or "")
    if locale.startswith("fa"):
        assert first_strong(opening) == "AL"


@pytest.mark.parametrize("language", ["fa", "ar"])
@pytest.mark.parametrize(("first", "last"), [("سارا", "احمدی"), ("Sara", "Ahmadi"), ("", "")])
def test_every_right_to_left_transactional_e_mail_starts_right_to_left(
    language: str, first: str, last: str
) -> None:
    pages = Pages("Rapport")
    values = {
        "salutation": salutation(first, last, language),
        "topics": ["offers"],
        "confirm_url": "https://rapport.example/confirm/t",
        "preferences_url": "https://rapport.example/preferences/t",
        "postal_address": "Rapport, 1 Example Street",
    }
    for template in ("confirm", "link"):
        subject = strip_bidi_controls(pages.render(f"{template}_subject.txt", language, **values))
        body = pages.render(f"{template}_body.txt", language, **values)
        assert first_strong(subject) in ("R", "AL"), (template, subject)
        assert first_strong(body) in ("R", "AL"), (template, body[:40])


@pytest.mark.parametrize("language", ["fa", "ar"])
@pytest.mark.parametrize("contact", ["+98 21 1234 5678", "help@shop.example"])
def test_the_contact_in_a_right_to_left_help_reply_is_isolated(language: str, contact: str) -> None:
    # In a right-to-left line a phone number's groups are laid out in reverse order
    # ('5678 1234 21 98+', as the Unicode bidi algorithm and every phone show it):
    # the contact goes between U+2068 and U+2069, as codes do in Persian SMS.
    settings = with_sender(webhook_settings(), contact=contact)
    reply = render_reply(language, HELP_REPLY, settings)
    assert "\u2068" + contact + "\u2069" in reply
    assert first_strong(reply) in ("R", "AL")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_left_to_right_help_reply_names_the_contact_without_isolates(language: str) -> None:
    # Isolates would make an English reply UCS-2 (70 characters a segment, not 160).
    settings = with_sender(webhook_settings(), contact="+98 21 1234 5678")
    reply = render_reply(language, HELP_REPLY, settings)
    assert "+98 21 1234 5678" in reply and "\u2068" not in reply
