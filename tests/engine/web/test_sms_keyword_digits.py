"""A keyword made of digits, typed on whichever keyboard the customer has.

Iranian senders commonly take "11" as the opt-out word; a Persian keyboard types
۱۱ and an Arabic one ١١. An operator who configures ``11`` must see every one of
them withdraw consent, with the configured word as the evidence.
"""

from __future__ import annotations

import pytest
from factories import consent_trail
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.engine.core.keywords import SMSKeywords, match_keyword
from rapport.engine.web.app import create_app
from tests.engine.web.conftest import (
    AUTH,
    PHONES,
    FakeClock,
    add_customer,
    record,
    sms_pairs,
    webhook_settings,
)


@pytest.mark.parametrize("text", ["11", "۱۱", "١١", "１１", " ۱۱. "])
def test_a_configured_digit_stop_word_matches_in_any_digits(
    engine: Engine, clock: FakeClock, text: str
) -> None:
    phone = PHONES["fa_IR"]
    add_customer(engine, "c1", locale="fa_IR", phone=phone)
    record(engine, "c1", "sms", ["offers"])
    keywords = SMSKeywords(stop=("لغو", "11"))
    settings = webhook_settings().model_copy(update={"sms_keywords": keywords})

    with TestClient(create_app(settings, engine, clock=clock)) as client:
        response = client.post(
            "/webhooks/sms/inbound",
            json={"from": phone, "to": "+15550001111", "text": text},
            headers=AUTH,
        )

    assert response.status_code == 200 and response.json()["reply"]
    assert sms_pairs(engine, "c1") == set()
    [withdrawal] = [r for r in consent_trail(engine, "c1") if r.status == "withdrawn"]
    assert (withdrawal.source, withdrawal.wording) == ("sms_keyword", "keyword:11")


def test_a_word_configured_in_persian_digits_matches_ascii_digits() -> None:
    keyword = match_keyword("11", SMSKeywords(stop=("۱۱",)))
    assert keyword is not None and keyword.word == "۱۱"
