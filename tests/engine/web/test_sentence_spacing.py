"""Sentences a page puts side by side are joined as the language writes them:
with a space in English and Persian, with none after a Chinese full stop (。).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from factories import insert_customer
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.web.app import create_app
from tests.engine.web.conftest import FakeClock, webhook_settings


@pytest.fixture
def app_client(engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(webhook_settings(), engine, clock=clock)) as client:
        yield client


def saved_notice(client: TestClient, customer_id: str) -> str:
    """The notice after switching on a topic by e-mail and by SMS, three sentences, as
    a browser shows it (white space between tags collapsed to one space)."""
    token = Signer("test").sign(Purpose.PREFERENCES, TokenClaims(customer_id, "email"))
    page = client.post(
        f"/preferences/{token}", data={"email:offers": "on", "sms:offers": "on"}
    ).text
    [notice] = re.findall(r'<p class="ok" role="status" id="saved">(.*?)</p>', page, re.S)
    return " ".join(re.sub(r"<[^>]+>", "", notice).split())


@pytest.mark.parametrize("locale", ["zh_CN", "zh_TW"])
def test_chinese_sentences_follow_each_other_without_a_space(
    engine: Engine, app_client: TestClient, locale: str
) -> None:
    insert_customer(engine, "ZH1", locale=locale, email="zh1@example.com", phone="+8613800138000")
    notice = saved_notice(app_client, "ZH1")
    assert notice.count("。") == 3
    assert "。 " not in notice


@pytest.mark.parametrize("locale", ["en_GB", "fa_IR"])
def test_english_and_persian_sentences_are_one_space_apart(
    engine: Engine, app_client: TestClient, locale: str
) -> None:
    insert_customer(engine, "S1", locale=locale, email="s1@example.com", phone="+447700900123")
    notice = saved_notice(app_client, "S1")
    assert notice.count(". ") == 2
