"""Provider webhooks through the real web app: inbound SMS keywords and e-mail events.

Every database test runs on SQLite and PostgreSQL (the ``engine`` fixture). The app
is the one ``create_app`` builds, called through Starlette's TestClient.
"""

from __future__ import annotations

import base64
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import REPO, consent_trail, insert_customer
from pydantic import ValidationError
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from rapport.consent.state import current_status, granted_pairs
from rapport.consent.store import ConsentChange, record_consent
from rapport.engine.core.config import Settings, load_settings
from rapport.engine.core.keywords import KeywordAction, SMSKeywords, match_keyword
from rapport.engine.core.models import CONSENT_EVENT, SUPPRESSION
from rapport.engine.web.app import create_app
from rapport.engine.web.sms_inbound import (
    HELP_REPLY,
    START_NOTHING_REPLY,
    START_REPLY,
    STOP_REPLY,
)

T0 = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TOKEN = "hook"
AUTH = {"X-Rapport-Webhook-Token": TOKEN}
BRAND = "Rapport"
CONTACT = "hello@example.com"

PHONES = {
    "en": "+12025550143",
    "fa_IR": "+989121234567",
    "zh_Hans_CN": "+8613800138000",
}
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


class FakeClock:
    """A clock the test moves: a STOP and a START at the same instant would tie."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def webhook_settings(token: str | None = TOKEN) -> Settings:
    return Settings(base_dir=REPO, secret_key="test").model_copy(
        update={"web": Settings().web.model_copy(update={"webhook_token": token})}
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def client(engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(webhook_settings(), engine, clock=clock)) as test_client:
        yield test_client


def add_customer(
    engine: Engine,
    customer_id: str,
    *,
    locale: str = "en",
    phone: str | None = None,
    email: str | None = None,
    erased: bool = False,
) -> None:
    insert_customer(
        engine,
        customer_id,
        locale=locale,
        timezone="UTC",
        phone=phone,
        email=email,
        created_at=T0,
        erased_at=NOW if erased else None,
    )


def record(
    engine: Engine,
    customer_id: str,
    channel: str,
    topics: list[str],
    status: str = "granted",
    source: str = "checkout",
    at: datetime = T0,
) -> None:
    with engine.begin() as connection:
        record_consent(
            connection,
            [ConsentChange(customer_id, channel, topic, status, source, at) for topic in topics],
            recorded_at=at,
        )


def sms_pairs(engine: Engine, customer_id: str) -> set[tuple[str, str]]:
    with engine.connect() as connection:
        pairs = granted_pairs(connection, [customer_id])[customer_id]
    return {pair for pair in pairs if pair[0] == "sms"}


def event_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(CONSENT_EVENT)).scalar_one()


def suppressions(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(select(SUPPRESSION.c.address, SUPPRESSION.c.reason))
        return {row.address: row.reason for row in rows}


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
    assert "c1" in caplog.text
    for secret in ("2025550143", "Unsubscribe", "call me"):
        assert secret not in caplog.text


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


@pytest.mark.parametrize("path", ["/webhooks/sms/inbound", "/webhooks/email/events"])
def test_missing_or_wrong_token_is_refused(engine: Engine, client: TestClient, path: str) -> None:
    add_customer(engine, "c1", phone=PHONES["en"])
    record(engine, "c1", "sms", ["offers"])
    payload = {"from": PHONES["en"], "text": "STOP"}
    for headers in ({}, {"X-Rapport-Webhook-Token": "nope"}, {"X-Rapport-Webhook-Token": ""}):
        response = client.post(path, json=payload, headers=headers)
        assert response.status_code == 401
        assert "WWW-Authenticate" in response.headers
    assert sms_pairs(engine, "c1") == {("sms", "offers")}


def test_token_as_basic_auth_password_is_accepted(client: TestClient) -> None:
    good = base64.b64encode(f"twilio:{TOKEN}".encode()).decode()
    bad = base64.b64encode(b"twilio:nope").decode()
    form = {"From": PHONES["en"], "Body": "HELP"}
    url = "/webhooks/sms/inbound"
    ok = client.post(url, data=form, headers={"Authorization": f"Basic {good}"})
    assert ok.status_code == 200
    no = client.post(url, data=form, headers={"Authorization": f"Basic {bad}"})
    assert no.status_code == 401


def test_webhooks_are_disabled_without_a_configured_token(engine: Engine, clock: FakeClock) -> None:
    with TestClient(create_app(webhook_settings(None), engine, clock=clock)) as client:
        for path in ("/webhooks/sms/inbound", "/webhooks/email/events"):
            response = client.post(path, json={}, headers=AUTH)
            assert response.status_code == 503
            assert "RAPPORT_WEBHOOK_TOKEN" in response.json()["error"]


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


# -- e-mail events ----------------------------------------------------------------------


def events(client: TestClient, payload: Any) -> Any:
    return client.post("/webhooks/email/events", json=payload, headers=AUTH)


def test_hard_bounce_suppresses_soft_bounce_and_delivery_do_not(
    engine: Engine, client: TestClient
) -> None:
    response = events(
        client,
        [
            {
                "type": "bounce",
                "email": "gone@Example.COM",
                "bounce_type": "hard",
                "reason": "550 5.1.1 user unknown",
            },
            {
                "type": "bounce",
                "email": "full@example.com",
                "bounce_type": "soft",
                "reason": "452 mailbox full",
            },
            {"type": "delivery", "email": "fine@example.com", "message_id": "<m1@rapport.example>"},
        ],
    )

    assert response.status_code == 200
    assert response.json() == {"accepted": 3, "suppressed": 1, "ignored": 2}
    assert suppressions(engine) == {"gone@example.com": "bounce"}


def test_a_single_object_is_one_event(engine: Engine, client: TestClient) -> None:
    response = events(
        client, {"type": "bounce", "email": "gone@example.com", "bounce_type": "hard"}
    )
    assert response.json() == {"accepted": 1, "suppressed": 1, "ignored": 0}
    assert suppressions(engine) == {"gone@example.com": "bounce"}


def test_complaint_suppresses_and_withdraws_every_email_topic(
    engine: Engine, client: TestClient
) -> None:
    add_customer(engine, "c1", email="Sara@example.com", phone=PHONES["fa_IR"], locale="fa_IR")
    record(engine, "c1", "email", ["offers", "newsletter"])
    record(engine, "c1", "sms", ["offers"])

    response = events(
        client,
        {"type": "complaint", "email": "sara@example.com", "occurred_at": "2025-05-31T08:00:00Z"},
    )

    assert response.json() == {"accepted": 1, "suppressed": 1, "ignored": 0}
    # Suppressed as reported and as stored, because dispatch compares exact strings.
    assert suppressions(engine) == {
        "sara@example.com": "complaint",
        "Sara@example.com": "complaint",
    }
    with engine.connect() as connection:
        pairs = granted_pairs(connection, ["c1"])["c1"]
    assert pairs == {("sms", "offers")}
    withdrawals = [r for r in consent_trail(engine, "c1") if r.status == "withdrawn"]
    assert {(r.channel, r.topic, r.source) for r in withdrawals} == {
        ("email", "offers", "complaint"),
        ("email", "newsletter", "complaint"),
    }
    assert {r.captured_at for r in withdrawals} == {datetime(2025, 5, 31, 8, 0, tzinfo=UTC)}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"type": "bounce", "email": "not-an-address", "bounce_type": "hard"}, "item 2: email:"),
        ({"type": "open", "email": "a@example.com"}, "item 2: type:"),
        ({"type": "bounce", "email": "a@example.com"}, "item 2: bounce_type:"),
        (
            {"type": "complaint", "email": "a@example.com", "occurred_at": "yesterday"},
            "item 2: occurred_at:",
        ),
        ({"type": "delivery", "email": "a@example.com", "reason": 5}, "item 2: reason:"),
        ("bounce", "item 2:"),
    ],
)
def test_a_malformed_item_refuses_the_whole_request(
    engine: Engine, client: TestClient, bad: Any, message: str
) -> None:
    add_customer(engine, "c1", email="c1@example.com")
    record(engine, "c1", "email", ["offers"])
    before = event_count(engine)

    response = events(
        client,
        [
            {"type": "bounce", "email": "gone@example.com", "bounce_type": "hard"},
            {"type": "complaint", "email": "c1@example.com"},
            bad,
        ],
    )

    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert suppressions(engine) == {}
    assert event_count(engine) == before


def test_malformed_bodies_are_refused(client: TestClient) -> None:
    url = "/webhooks/email/events"
    assert client.post(url, content=b"nope", headers=AUTH).status_code == 400
    assert events(client, "bounce").status_code == 400
    assert events(client, [{}] * 1001).status_code == 413


def test_repeating_events_changes_nothing(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    add_customer(engine, "c1", email="c1@example.com")
    record(engine, "c1", "email", ["offers"])
    payload = [
        {"type": "bounce", "email": "gone@example.com", "bounce_type": "hard"},
        {"type": "complaint", "email": "c1@example.com"},
    ]

    first = events(client, payload).json()
    state = (suppressions(engine), event_count(engine), consent_trail(engine, "c1"))
    clock.advance(minutes=5)
    second = events(client, payload).json()

    assert first == second == {"accepted": 2, "suppressed": 2, "ignored": 0}
    assert (suppressions(engine), event_count(engine), consent_trail(engine, "c1")) == state
