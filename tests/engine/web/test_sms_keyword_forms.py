"""Keywords as people really send them, through the inbound SMS webhook.

Rapport's own texts quote the words to reply (Persian «لغو», «بله»; Chinese 回复"确认"),
so a customer copying one sends the quotes too. The keyword must do what it says,
with the usual evidence.
"""

from __future__ import annotations

from typing import Any

import pytest
from factories import consent_trail
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.engine.core.keywords import KeywordAction, match_keyword
from tests.engine.web.conftest import AUTH, PHONES, add_customer, record, sms_pairs


def sms(client: TestClient, sender: str, text: str) -> Any:
    return client.post(
        "/webhooks/sms/inbound",
        json={"from": sender, "to": "+15550001111", "text": text},
        headers=AUTH,
    )


QUOTED_STOPS = [
    ("«لغو»", "لغو", "fa_IR"),
    ("«لغو».", "لغو", "fa_IR"),
    ('"退订"', "退订", "zh_Hans_CN"),
    ("“退订”", "退订", "zh_Hans_CN"),
    ("「退订」", "退订", "zh_Hans_CN"),
    ('"STOP"', "STOP", "en"),
    ("'stop'", "STOP", "en"),
    ("(Stop)", "STOP", "en"),
    ("¡STOP!", "STOP", "en"),
]


@pytest.mark.parametrize(("text", "word", "locale"), QUOTED_STOPS)
def test_a_quoted_stop_withdraws_sms_with_the_word_as_evidence(
    engine: Engine, client: TestClient, text: str, word: str, locale: str
) -> None:
    add_customer(engine, "c1", locale=locale, phone=PHONES[locale])
    record(engine, "c1", "sms", ["offers"])

    response = sms(client, PHONES[locale], text)

    assert response.status_code == 200 and response.json()["reply"]
    assert sms_pairs(engine, "c1") == set()
    [withdrawal] = [r for r in consent_trail(engine, "c1") if r.status == "withdrawn"]
    assert (withdrawal.source, withdrawal.wording) == ("sms_keyword", f"keyword:{word}")


@pytest.mark.parametrize("text", ["«بله»", '"确认"', "“YES”"])
def test_a_quoted_confirm_word_is_the_confirm_keyword(text: str) -> None:
    keyword = match_keyword(text)
    assert keyword is not None and keyword.action is KeywordAction.CONFIRM


@pytest.mark.parametrize("text", ["«please stop»", '"stop sending"', "(stop) me"])
def test_a_quoted_sentence_is_still_not_a_keyword(text: str) -> None:
    assert match_keyword(text) is None
