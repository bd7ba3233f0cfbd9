"""Inbound SMS through the real web app: STOP, START, HELP and anything else.

Keyword matching on its own, then the ``/webhooks/sms/inbound`` webhook in JSON and
Twilio's form: STOP withdraws SMS consent with one confirmation, START regrants only
what a keyword withdrew, HELP names the brand and how to stop, other text changes
nothing; malformed requests are refused. The token every webhook needs is tested in
``test_webhook_auth.py``, e-mail events in ``test_email_events.py``; the helpers they
share are in ``conftest.py``.

Every database test runs on SQLite and PostgreSQL (the ``engine`` fixture). The app
is the one ``create_app`` builds, called through Starlette's TestClient.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import consent_trail
from pydantic import ValidationError
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.consent.state import current_status
from rapport.engine.core.config import load_settings
from rapport.engine.core.keywords import KeywordAction, SMSKeywords, match_keyword
from rapport.engine.web.app import create_app
from rapport.engine.web.sms_inbound import HELP_REPLY, START_NOTHING_REPLY, START_REPLY, STOP_REPLY
from tests.engine.web.conftest import (
    AUTH,
    NOW,
    PHONES,
    TOKEN,
    FakeClock,
    add_customer,
    event_count,
    record,
    sms_pairs,
    webhook_settings,
)

BRAND = "Rapport"
CONTACT = "hello@example.com"

ENGLISH_STOP = [
    "STOP",
    "STOPALL",
    "QUIT",
    "END",
    "REVOKE",
    "OPT OUT",
    "OPTOUT",
    "CANCEL",
    "UNSUBSCRIBE",
]
LOCAL_STOP = {"لغو": "fa_IR", "توقف": "fa_IR", "انصراف": "fa_IR"} | {
    "退订": "zh_Hans_CN",
    "TD": "zh_Hans_CN",
    "取消": "zh_Hans_CN",
}


def english(message: str) -> str:
    return message.format(brand=BRAND, contact=CONTACT)


def sms(client: TestClient, sender: str, text: str) -> Any:
    return client.post(
        "/webhooks/sms/inbound",
        json={"from": sender, "to": "+15550001111", "text": text},
        headers=AUTH,
    )


def twilio(client: TestClient, sender: str, body: str) -> ET.Element:
    response = client.post(
        "/webhooks/sms/inbound", data={"From": sender, "Body": body}, headers=AUTH
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(response.content)


def case_variants(word: str) -> list[str]:
    return [word.upper(), word.lower(), word.title()]


# -- keyword matching (no database) -----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["STOP", "stop", "Stop", "  stop  ", "STOP.", "stop!", "ＳＴＯＰ", "opt   out", "Opt Out."],
)
def test_stop_spellings_match(text: str) -> None:
    keyword = match_keyword(text)
    assert keyword is not None and keyword.action is KeywordAction.STOP


@pytest.mark.parametrize(
    "text", ["please stop", "stop sending", "", "   ", "STOP STOP", "help me", "S T O P"]
)
def test_only_a_whole_message_keyword_matches(text: str) -> None:
    assert match_keyword(text) is None


def test_local_words_carry_their_script_language() -> None:
    assert match_keyword("لغو").language == "fa"  # type: ignore[union-attr]
    assert match_keyword("退订。").language == "zh"  # type: ignore[union-attr]
    assert match_keyword("راهنما") is not None
    # Arabic yeh (U+064A) typed on an Arabic keyboard matches a word configured with
    # the Persian yeh (U+06CC).
    configured = SMSKeywords(help=("\u0631\u0627\u0647\u0646\u0645\u0627\u06cc",))
    assert match_keyword("\u0631\u0627\u0647\u0646\u0645\u0627\u064a", configured) is not None


def test_a_word_cannot_mean_two_things() -> None:
    with pytest.raises(ValidationError):
        SMSKeywords(stop=("YES",))
    with pytest.raises(ValidationError):
        SMSKeywords(start=("...",))


# -- STOP -------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ENGLISH_STOP)
def test_every_stop_word_in_any_case_withdraws_sms_with_one_confirmation(
    engine: Engine, client: TestClient, word: str
) -> None:
    for index, spelling in enumerate(case_variants(word)):
        customer_id, phone = f"c{index}", f"+1202555014{index}"
        add_customer(engine, customer_id, phone=phone)
        record(engine, customer_id, "sms", ["offers", "birthday"])
        record(engine, customer_id, "sms", ["reorder"], status="pending")
        record(engine, customer_id, "email", ["offers"])

        response = sms(client, phone, spelling)

        assert response.status_code == 200
        assert response.json() == {"reply": english(STOP_REPLY)}
        assert sms_pairs(engine, customer_id) == set()
        withdrawn = [r for r in consent_trail(engine, customer_id) if r.status == "withdrawn"]
        assert sorted(r.topic for r in withdrawn) == ["birthday", "offers", "reorder"]
        assert {(r.channel, r.source, r.wording) for r in withdrawn} == {
            ("sms", "sms_keyword", f"keyword:{word}")
        }
        with engine.connect() as connection:
            assert current_status(connection, customer_id, "email", "offers") == "granted"


@pytest.mark.parametrize(("word", "locale"), LOCAL_STOP.items())
def test_local_stop_words_withdraw_sms_and_reply_once(
    engine: Engine, client: TestClient, word: str, locale: str
) -> None:
    add_customer(engine, "c1", locale=locale, phone=PHONES[locale])
    record(engine, "c1", "sms", ["offers"])

    root = twilio(client, PHONES[locale], f" {word} ")

    assert [child.tag for child in root] == ["Message"]
    assert root[0].text and root[0].text.strip()
    assert sms_pairs(engine, "c1") == set()
    [withdrawal] = [r for r in consent_trail(engine, "c1") if r.status == "withdrawn"]
    assert (withdrawal.source, withdrawal.wording, withdrawal.locale) == (
        "sms_keyword",
        f"keyword:{word}",
        locale,
    )


def test_stop_reaches_every_customer_with_the_number_but_not_erased_ones(
    engine: Engine, client: TestClient
) -> None:
    phone = PHONES["fa_IR"]
    add_customer(engine, "a", locale="fa_IR", phone=phone)
    add_customer(engine, "b", locale="en", phone=phone)
    add_customer(engine, "gone", phone=phone, erased=True)
    add_customer(engine, "other", phone=PHONES["en"])
    for customer_id in ("a", "b", "gone", "other"):
        record(engine, customer_id, "sms", ["offers"])

    # A national-looking spacing of the same number still finds them.
    response = sms(client, "+98 912 123 4567", "stop")

    assert response.status_code == 200
    assert isinstance(response.json()["reply"], str) and response.json()["reply"]
    assert sms_pairs(engine, "a") == sms_pairs(engine, "b") == set()
    assert sms_pairs(engine, "gone") == {("sms", "offers")}
    assert sms_pairs(engine, "other") == {("sms", "offers")}


def test_stop_from_an_unknown_number_is_still_acknowledged(
    engine: Engine, client: TestClient
) -> None:
    before = event_count(engine)
    assert sms(client, "+14155552671", "STOP").json() == {"reply": english(STOP_REPLY)}
    assert sms(client, "not a number", "STOP").json() == {"reply": english(STOP_REPLY)}
    assert event_count(engine) == before


def test_logs_carry_ids_not_numbers_or_text(
    engine: Engine, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    add_customer(engine, "c1", phone=PHONES["en"])
    record(engine, "c1", "sms", ["offers"])
    with caplog.at_level(logging.DEBUG, logger="rapport.engine.web.sms_inbound"):
        sms(client, PHONES["en"], "Unsubscribe")
        sms(client, PHONES["en"], "call me at 5550143")
    assert next(getattr(r, "customer_ids", None) for r in caplog.records) == ["c1"]  # a field
    for secret in ("2025550143", "Unsubscribe", "call me"):
        assert secret not in caplog.text


def test_a_keyword_that_matched_no_customer_is_logged_with_its_reason_not_the_number(
    engine: Engine, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """STOP from a sender that is not a phone number, or from a number no customer
    has, is answered 200 (a provider retries anything else) and records nothing; the
    log says which of the two it was, so an operator can tell a misconfigured provider
    from a stranger, without the number."""
    before = event_count(engine)
    with caplog.at_level(logging.INFO, logger="rapport.engine.web.sms_inbound"):
        sms(client, "not a number 99887766", "STOP")
        sms(client, "+14155552671", "STOP")

    reasons = [getattr(r, "reason", None) for r in caplog.records]
    assert reasons == ["the sender is not a phone number", "no customer has the number"]
    assert "99887766" not in caplog.text and "4155552671" not in caplog.text
    assert event_count(engine) == before


# -- START, HELP, anything else ---------------------------------------------------------


def test_start_regrants_only_what_a_keyword_withdrew(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    phone = PHONES["en"]
    add_customer(engine, "c1", phone=phone)
    record(engine, "c1", "sms", ["offers", "birthday", "newsletter"])
    record(engine, "c1", "sms", ["newsletter"], status="withdrawn", source="operator", at=NOW)
    clock.advance(minutes=1)
    sms(client, phone, "STOP")
    clock.advance(days=2)

    response = sms(client, phone, "Start")

    assert response.json() == {"reply": english(START_REPLY)}
    assert sms_pairs(engine, "c1") == {("sms", "offers"), ("sms", "birthday")}
    regrants = [
        r
        for r in consent_trail(engine, "c1")
        if r.source == "sms_keyword" and r.status == "granted"
    ]
    assert {(r.topic, r.wording) for r in regrants} == {
        ("offers", "keyword:START"),
        ("birthday", "keyword:START"),
    }


def test_start_does_not_undo_a_later_unsubscribe_elsewhere(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    phone = PHONES["en"]
    add_customer(engine, "c1", phone=phone)
    record(engine, "c1", "sms", ["offers"])
    sms(client, phone, "STOP")
    record(
        engine,
        "c1",
        "sms",
        ["offers"],
        status="withdrawn",
        source="operator",
        at=NOW + timedelta(hours=1),
    )
    clock.advance(days=1)

    response = sms(client, phone, "UNSTOP")

    assert response.json() == {"reply": english(START_NOTHING_REPLY)}
    assert sms_pairs(engine, "c1") == set()


def test_start_from_a_local_keyword_replies_once(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    phone = PHONES["zh_Hans_CN"]
    add_customer(engine, "c1", locale="zh_Hans_CN", phone=phone)
    record(engine, "c1", "sms", ["offers"])
    twilio(client, phone, "退订")
    clock.advance(hours=1)

    root = twilio(client, phone, "订阅")

    assert [child.tag for child in root] == ["Message"] and root[0].text
    assert sms_pairs(engine, "c1") == {("sms", "offers")}


@pytest.mark.parametrize("word", ["HELP", "help", "Info"])
def test_help_names_brand_contact_rates_and_how_to_stop(
    engine: Engine, client: TestClient, word: str
) -> None:
    add_customer(engine, "c1", phone=PHONES["en"])
    record(engine, "c1", "sms", ["offers"])
    before = event_count(engine)

    reply = sms(client, PHONES["en"], word).json()["reply"]

    assert reply == english(HELP_REPLY)
    for part in (BRAND, CONTACT, "Msg & data rates may apply", "STOP"):
        assert part in reply
    assert event_count(engine) == before
    assert sms_pairs(engine, "c1") == {("sms", "offers")}


@pytest.mark.parametrize("word", ["راهنما", "帮助"])
def test_local_help_from_an_unknown_number_replies_once(client: TestClient, word: str) -> None:
    root = twilio(client, "+14155552671", word)
    assert [child.tag for child in root] == ["Message"] and root[0].text


@pytest.mark.parametrize("text", ["please stop texting me", "Thanks!", "", "STOP now"])
def test_other_text_gets_no_reply_and_changes_nothing(
    engine: Engine, client: TestClient, text: str
) -> None:
    add_customer(engine, "c1", phone=PHONES["en"])
    record(engine, "c1", "sms", ["offers"])

    assert sms(client, PHONES["en"], text).json() == {"reply": None}
    root = twilio(client, PHONES["en"], text)
    assert root.tag == "Response" and len(root) == 0
    assert sms_pairs(engine, "c1") == {("sms", "offers")}


def test_twiml_escapes_the_reply(engine: Engine, clock: FakeClock) -> None:
    settings = webhook_settings()
    settings = settings.model_copy(
        update={"sender": settings.sender.model_copy(update={"brand": "A&B <Shop>"})}
    )
    with TestClient(create_app(settings, engine, clock=clock)) as client:
        root = twilio(client, PHONES["en"], "HELP")
    assert root[0].text is not None and root[0].text.startswith("A&B <Shop>:")


def test_configured_local_keywords_are_honoured(engine: Engine, clock: FakeClock) -> None:
    add_customer(engine, "c1", phone=PHONES["en"])
    record(engine, "c1", "sms", ["offers"])
    settings = webhook_settings().model_copy(update={"sms_keywords": SMSKeywords(stop=("BASTA",))})
    with TestClient(create_app(settings, engine, clock=clock)) as client:
        assert sms(client, PHONES["en"], "basta").json() == {"reply": english(STOP_REPLY)}
    assert sms_pairs(engine, "c1") == set()


def test_a_persian_stop_word_from_config_yaml_is_honoured(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    word = "بسه"  # "enough"
    config = tmp_path / "config.yaml"
    config.write_text(f"sms_keywords:\n  stop: [{word}]\n", encoding="utf-8")
    settings = load_settings(
        config, environ={"RAPPORT_WEBHOOK_TOKEN": TOKEN, "RAPPORT_SECRET_KEY": "test"}
    )
    phone = PHONES["fa_IR"]
    add_customer(engine, "c1", locale="fa_IR", phone=phone)
    record(engine, "c1", "sms", ["offers"])

    with TestClient(create_app(settings, engine, clock=clock)) as client:
        root = twilio(client, phone, f" {word}. ")

    assert [child.tag for child in root] == ["Message"] and root[0].text
    assert sms_pairs(engine, "c1") == set()
    [withdrawal] = [r for r in consent_trail(engine, "c1") if r.status == "withdrawn"]
    assert (withdrawal.source, withdrawal.wording) == ("sms_keyword", f"keyword:{word}")


# -- requests we refuse -----------------------------------------------------------------


def test_malformed_sms_requests_are_refused(client: TestClient) -> None:
    url = "/webhooks/sms/inbound"
    assert client.post(url, json={"text": "STOP"}, headers=AUTH).status_code == 400
    assert client.post(url, json=["STOP"], headers=AUTH).status_code == 400
    assert (
        client.post(
            url, content=b"{", headers=AUTH | {"content-type": "application/json"}
        ).status_code
        == 400
    )
    assert client.post(url, data={"Body": "STOP"}, headers=AUTH).status_code == 400
    assert (
        client.post(url, content=b"STOP", headers=AUTH | {"content-type": "text/plain"}).status_code
        == 415
    )
    huge = {"from": PHONES["en"], "text": "x" * 20_000}
    assert client.post(url, json=huge, headers=AUTH).status_code == 413
