"""SMS double opt-in: a topic switched on in the preference centre counts only after
the customer replies YES to the one text it triggers.

Saving records ``pending`` with the page's wording version and queues a transactional
"reply YES" text in the customer's language; an inbound YES (or the local word, بله,
确认 ...) from that number within ``web.confirm_link_days`` grants it, recorded with
source ``sms_reply`` and the word; a YES with nothing pending grants nothing new. The
wording versions are pinned to the texts they name.

Every database test runs on SQLite and PostgreSQL (the ``engine`` fixture), through the
app ``create_app`` builds; one test drives the Persian page in headless Chromium.
"""

from __future__ import annotations

import hashlib
import random
import re
from datetime import timedelta
from typing import Any

import pytest
from factories import REPO, consent_trail
from pydantic import ValidationError
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from rapport.channels.recording import RecordingChannel
from rapport.consent.confirmation import SMS_CONFIRM_WORDING
from rapport.consent.store import UNSUBSCRIBE_LINK_WORDING
from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core.i18n import ui_language
from rapport.engine.core.keywords import KeywordAction, SMSKeywords, match_keyword, reply_word
from rapport.engine.core.models import OUTBOX
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.rendering.sms_encoding import count_sms
from rapport.engine.web.app import create_app
from rapport.engine.web.pages import Pages
from rapport.engine.web.preferences import CONFIRM_WORDING, WORDING
from rapport.engine.web.server import BackgroundServer
from rapport.engine.web.sms_inbound import (
    CONFIRM_NOTHING_REPLY,
    CONFIRM_REPLY,
    START_REPLY,
    render_reply,
)
from tests.engine.web.conftest import (
    AUTH,
    NOW,
    PHONES,
    FakeClock,
    add_customer,
    event_count,
    record,
    sms_pairs,
    webhook_settings,
)

SECRET = "test"  # webhook_settings()'s secret_key
#: locale -> (the word the text asks for, the STOP word it names, a phrase of the text)
LANGUAGES = {
    "en": ("YES", "STOP", "Msg & data rates may apply"),
    "fa_IR": ("بله", "لغو", "پیامک‌هایی که انتخاب کرده‌اید"),
    "zh_Hans_CN": ("确认", "退订", "即可开通"),
}


def page_path(customer_id: str, purpose: Purpose = Purpose.PREFERENCES) -> str:
    token = Signer(SECRET).sign(purpose, TokenClaims(customer_id, "email"))
    return f"/{purpose.value}/{token}"


def save(client: TestClient, customer_id: str, *switched_on: str) -> Any:
    response = client.post(page_path(customer_id), data=dict.fromkeys(switched_on, "on"))
    assert response.status_code == 200
    return response


def sms(client: TestClient, sender: str, text: str) -> str | None:
    response = client.post(
        "/webhooks/sms/inbound", json={"from": sender, "text": text}, headers=AUTH
    )
    assert response.status_code == 200
    reply: str | None = response.json()["reply"]
    return reply


def texts(engine: Engine, customer_id: str) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(OUTBOX)
                .where(OUTBOX.c.customer_id == customer_id, OUTBOX.c.channel == "sms")
                .order_by(OUTBOX.c.id)
            )
        )


def statuses(engine: Engine, customer_id: str) -> dict[str, str]:
    latest: dict[str, str] = {}
    for event in consent_trail(engine, customer_id):
        if event.channel == "sms":
            latest[event.topic] = event.status
    return latest


def replied(locale: str, message: str) -> str:
    return render_reply(ui_language(locale), message, webhook_settings())


# -- the preference page ----------------------------------------------------------------


@pytest.mark.parametrize("locale", LANGUAGES)
def test_an_sms_opt_in_stays_pending_and_queues_one_reply_yes_text_in_the_customers_language(
    engine: Engine, client: TestClient, locale: str
) -> None:
    word, stop, phrase = LANGUAGES[locale]
    add_customer(engine, "c1", locale=locale, phone=PHONES[locale])
    page = client.get(page_path("c1")).text
    assert word in page and stop in page  # the terms shown beside the switches

    answer = save(client, "c1", "sms:offers", "sms:birthday").text

    assert word in answer  # "we have sent you a text: reply YES"
    assert sms_pairs(engine, "c1") == set()  # pending is not consent
    trail = consent_trail(engine, "c1")
    assert {(e.topic, e.status, e.source, e.wording, e.locale) for e in trail} == {
        (topic, "pending", "preference_center", WORDING, locale) for topic in ("offers", "birthday")
    }
    [text] = texts(engine, "c1")
    assert (text.campaign, text.topic, text.transactional, text.subject) == (
        "_sms_confirm",
        "transactional",
        True,
        None,
    )
    assert text.status == "queued" and text.locale == locale
    assert text.expires_at.replace(tzinfo=None) == (NOW + timedelta(days=7)).replace(tzinfo=None)
    for part in ("Rapport", word, stop, phrase):
        assert part in text.body_text
    assert text.segments == count_sms(text.body_text).segments


def test_switching_a_text_topic_off_and_on_again_texts_once_a_day(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    add_customer(engine, "c1", phone=PHONES["en"])
    save(client, "c1", "sms:offers")
    for _ in range(3):
        clock.advance(minutes=5)
        save(client, "c1")
        clock.advance(minutes=5)
        save(client, "c1", "sms:offers", "sms:reorder")
    assert len(texts(engine, "c1")) == 1

    clock.advance(days=1)
    save(client, "c1")
    save(client, "c1", "sms:offers")
    assert len(texts(engine, "c1")) == 2


def test_the_email_confirmation_link_does_not_confirm_texts(
    engine: Engine, client: TestClient
) -> None:
    add_customer(engine, "c1", phone=PHONES["en"], email="c1@example.com")
    save(client, "c1", "email:offers", "sms:offers")

    assert client.post(page_path("c1", Purpose.CONFIRM)).status_code == 200

    assert statuses(engine, "c1") == {"offers": "pending"}
    with engine.connect() as connection:
        campaigns = sorted(connection.execute(select(OUTBOX.c.campaign)).scalars())
    assert campaigns == ["_confirm", "_sms_confirm"]


async def test_the_reply_yes_text_goes_out_without_sms_consent(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    add_customer(engine, "c1", locale="fa_IR", phone=PHONES["fa_IR"])
    save(client, "c1", "sms:offers")
    channel = RecordingChannel()
    dispatcher = Dispatcher(
        engine,
        webhook_settings(),
        {"sms": channel},
        Signer(SECRET),
        clock=lambda: NOW + timedelta(minutes=1),
        rng=random.Random(1),
    )

    await dispatcher.run_once()

    [sent] = channel.sent
    [queued] = texts(engine, "c1")
    assert (sent.kind, sent.to, sent.text) == ("sms", PHONES["fa_IR"], queued.body_text)
    assert queued.status == "sent"


# -- the reply --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "typed", "word"),
    [
        ("en", "YES", "YES"),
        ("en", " yes. ", "YES"),
        ("fa_IR", "بله", "بله"),
        ("fa_IR", "بلـه", "بله"),  # with a tatweel
        ("fa_IR", "آره", "آره"),
        ("zh_Hans_CN", "确认", "确认"),
        ("zh_Hans_CN", "是。", "是"),
    ],
)
def test_yes_from_the_number_confirms_what_is_pending_with_the_word_as_evidence(
    engine: Engine, client: TestClient, clock: FakeClock, locale: str, typed: str, word: str
) -> None:
    add_customer(engine, "c1", locale=locale, phone=PHONES[locale])
    save(client, "c1", "sms:offers", "sms:birthday")
    clock.advance(hours=3)

    reply = sms(client, PHONES[locale], typed)

    assert reply == replied(locale, CONFIRM_REPLY)
    assert sms_pairs(engine, "c1") == {("sms", "offers"), ("sms", "birthday")}
    grants = [e for e in consent_trail(engine, "c1") if e.status == "granted"]
    assert {(e.topic, e.source, e.wording, e.locale) for e in grants} == {
        (topic, "sms_reply", f"{SMS_CONFIRM_WORDING} keyword:{word}", locale)
        for topic in ("offers", "birthday")
    }
    assert sms(client, PHONES[locale], typed) == replied(locale, CONFIRM_NOTHING_REPLY)
    assert len(consent_trail(engine, "c1")) == 4  # the second YES recorded nothing


@pytest.mark.parametrize(
    ("wait", "confirmed"), [({"days": 7}, True), ({"days": 7, "minutes": 1}, False)]
)
def test_yes_counts_within_seven_days_of_the_opt_in(
    engine: Engine, client: TestClient, clock: FakeClock, wait: dict[str, int], confirmed: bool
) -> None:
    add_customer(engine, "c1", phone=PHONES["en"])
    save(client, "c1", "sms:offers")
    clock.advance(**wait)

    reply = sms(client, PHONES["en"], "YES")

    assert statuses(engine, "c1") == {"offers": "granted" if confirmed else "pending"}
    assert reply == replied("en", CONFIRM_REPLY if confirmed else CONFIRM_NOTHING_REPLY)


def test_yes_with_nothing_pending_grants_nothing_and_says_so(
    engine: Engine, client: TestClient
) -> None:
    add_customer(engine, "c1", phone=PHONES["zh_Hans_CN"], locale="zh_Hans_CN")
    record(engine, "c1", "sms", ["offers"], status="withdrawn", source="operator")
    before = event_count(engine)

    assert sms(client, PHONES["zh_Hans_CN"], "是") == replied("zh", CONFIRM_NOTHING_REPLY)
    assert sms(client, "+12025550199", "YES") == replied("en", CONFIRM_NOTHING_REPLY)  # unknown
    assert event_count(engine) == before


def test_yes_from_another_number_confirms_nothing(engine: Engine, client: TestClient) -> None:
    add_customer(engine, "c1", phone=PHONES["en"])
    add_customer(engine, "c2", phone=PHONES["fa_IR"], locale="fa_IR")
    save(client, "c1", "sms:offers")

    sms(client, PHONES["fa_IR"], "بله")

    assert statuses(engine, "c1") == {"offers": "pending"}


def test_yes_after_stop_resumes_only_what_the_keyword_stopped_like_start(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    add_customer(engine, "c1", phone=PHONES["en"])
    record(engine, "c1", "sms", ["offers", "newsletter"])
    record(engine, "c1", "sms", ["newsletter"], status="withdrawn", source="operator", at=NOW)
    clock.advance(minutes=1)
    sms(client, PHONES["en"], "STOP")
    clock.advance(days=1)

    reply = sms(client, PHONES["en"], "YES")

    assert reply == replied("en", START_REPLY)
    assert sms_pairs(engine, "c1") == {("sms", "offers")}  # not the operator's withdrawal


def test_stop_withdraws_a_pending_text_opt_in(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    add_customer(engine, "c1", phone=PHONES["en"])
    save(client, "c1", "sms:offers")
    clock.advance(minutes=1)

    sms(client, PHONES["en"], "STOP")

    assert statuses(engine, "c1") == {"offers": "withdrawn"}


# -- keywords ---------------------------------------------------------------------------


def test_yes_is_a_confirm_word_and_no_longer_a_start_word() -> None:
    for text in ("YES", "Yes!", "ＹＥＳ", "بله", "آره", "确认", "是"):
        keyword = match_keyword(text)
        assert keyword is not None and keyword.action is KeywordAction.CONFIRM, text
    assert match_keyword("yes please") is None
    assert reply_word(KeywordAction.CONFIRM, "fa") == "بله"
    assert reply_word(KeywordAction.CONFIRM, "zh") == "确认"
    assert reply_word(KeywordAction.CONFIRM, "ar") == "YES"  # no Arabic word configured


def test_confirm_words_are_configured_like_the_others() -> None:
    keywords = SMSKeywords(confirm=("باشه", "好的"))
    assert match_keyword("باشه", keywords).action is KeywordAction.CONFIRM  # type: ignore[union-attr]
    assert match_keyword("بله", keywords) is None  # a list replaces the default words
    assert match_keyword("YES", keywords) is not None  # the standard word stays
    assert reply_word(KeywordAction.CONFIRM, "zh", keywords) == "好的"
    with pytest.raises(ValidationError):
        SMSKeywords(stop=("بله",))  # one word cannot both stop and confirm


def test_the_text_and_page_name_the_configured_word(engine: Engine, clock: FakeClock) -> None:
    base = webhook_settings()
    settings = base.model_copy(update={"sms_keywords": SMSKeywords(confirm=("باشه",))})
    add_customer(engine, "c1", locale="fa_IR", phone=PHONES["fa_IR"])
    with TestClient(create_app(settings, engine, clock=clock)) as client:
        assert "«باشه»" in save(client, "c1", "sms:offers").text
        assert sms(client, PHONES["fa_IR"], "باشه") == replied("fa_IR", CONFIRM_REPLY)
    [text] = texts(engine, "c1")
    assert "«باشه»" in text.body_text and "بله" not in text.body_text


# -- wording versions -------------------------------------------------------------------

#: What each wording version says, as a digest of its text in every language. A change
#: to a text (or its translation) fails here: give it a new version and pin that.
PINNED = {
    "sms-confirm-v1": "dd167ae6",
    "sms-confirm-v2": "2f3d8464",
    "preference-center-v2": "c1dd83a2",
}


def digest(texts: list[str]) -> str:
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:8]


def sms_confirm_texts() -> list[str]:
    pages = Pages("Rapport")
    out = []
    for language in ("en", "fa", "zh", "ar"):
        words = {
            "word": reply_word(KeywordAction.CONFIRM, language),
            "help_word": reply_word(KeywordAction.HELP, language),
            "stop_word": reply_word(KeywordAction.STOP, language),
        }
        out.append(" ".join(pages.render("sms_confirm.txt", language, **words).split()))
    return out


def page_terms(client: TestClient, engine: Engine) -> list[str]:
    out = []
    for n, locale in enumerate(("en", "fa_IR", "zh_Hans_CN", "ar")):
        add_customer(engine, f"w{n}", locale=locale, phone=PHONES["en"])
        page = client.get(page_path(f"w{n}")).text
        start = page.index('id="sms-terms">')
        out.append(page[start : page.index("</p>", start)])
    return out


def test_each_wording_version_names_one_text(engine: Engine, client: TestClient) -> None:
    assert digest(sms_confirm_texts()) == PINNED[SMS_CONFIRM_WORDING], (
        "the reply-YES text changed: give consent.confirmation.SMS_CONFIRM_WORDING a new "
        "version and pin it here"
    )
    assert digest(page_terms(client, engine)) == PINNED[WORDING], (
        "the page's SMS terms changed: give engine.web.preferences.WORDING a new version "
        "and pin it here"
    )


def test_the_docs_name_each_text_by_the_version_recorded_now() -> None:
    """An operator reading the evidence checks it against README.md and docs/: every
    version of a built-in text they name is the one Rapport records today."""
    current = {SMS_CONFIRM_WORDING, WORDING, CONFIRM_WORDING, UNSUBSCRIBE_LINK_WORDING}
    names = "|".join(re.escape(version.rsplit("-v", 1)[0]) for version in current)
    named = re.compile(rf"\b(?:{names})-v\d+\b")
    stale = sorted(
        f"{page.relative_to(REPO)}: {version}"
        for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
        for version in set(named.findall(page.read_text(encoding="utf-8")))
        if version not in current
    )
    assert stale == [], f"name the versions recorded now ({sorted(current)}): {stale}"


# -- in a browser -----------------------------------------------------------------------


def test_persian_customer_switches_on_texts_in_the_browser_and_confirms_with_bale(
    engine: Engine, clock: FakeClock, browser: Any
) -> None:
    add_customer(engine, "c1", locale="fa_IR", phone=PHONES["fa_IR"])
    server = BackgroundServer(create_app(webhook_settings(), engine, clock=clock)).start()
    try:
        page = browser.new_page()
        page.goto(server.url + page_path("c1"))
        assert page.locator("html").get_attribute("dir") == "rtl"
        assert "«بله»" in page.locator("#sms-terms").inner_text()
        page.locator("#sms\\:offers").check()
        page.locator("#save").click()
        page.wait_for_selector("#sms-sent")
        assert "«بله»" in page.locator("#sms-sent").inner_text()
        assert (
            "در انتظار تأیید" in page.locator("td", has=page.locator("#sms\\:offers")).inner_text()
        )
        page.close()
    finally:
        server.stop()
    assert statuses(engine, "c1") == {"offers": "pending"}
    with TestClient(create_app(webhook_settings(), engine, clock=clock)) as client:
        sms(client, PHONES["fa_IR"], "بله")
    assert statuses(engine, "c1") == {"offers": "granted"}
