"""What a holder of a preference link (the customer, or whoever the e-mail was forwarded
to) cannot do with it: change consent with a body that is not the page's form, or
have the app mail the customer's inbox over and over.

Every test runs on SQLite and PostgreSQL (the ``engine`` fixture), through the app
``create_app`` builds.
"""

from __future__ import annotations

from typing import Any

import pytest
from factories import consent_trail
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core.models import OUTBOX
from tests.engine.web.conftest import FakeClock, add_customer, event_count, record

SECRET = "test"  # webhook_settings()'s secret_key


def page_path(customer_id: str) -> str:
    token = Signer(SECRET).sign(Purpose.PREFERENCES, TokenClaims(customer_id, "email"))
    return f"/preferences/{token}"


def save(client: TestClient, customer_id: str, *switched_on: str) -> Any:
    response = client.post(page_path(customer_id), data=dict.fromkeys(switched_on, "on"))
    assert response.status_code == 200
    return response


def confirmations(engine: Engine, customer_id: str) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(OUTBOX)
                .where(OUTBOX.c.customer_id == customer_id, OUTBOX.c.campaign == "_confirm")
                .order_by(OUTBOX.c.id)
            )
        )


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"email:offers": "on"}'),
        ("text/plain", b"email:offers=on"),
        ("application/xml", b"<form/>"),
    ],
)
def test_a_preference_save_whose_body_is_not_a_form_is_415_and_changes_nothing(
    engine: Engine, client: TestClient, content_type: str, body: bytes
) -> None:
    add_customer(engine, "c1", email="c1@example.com")
    record(engine, "c1", "email", ["offers", "birthday"])
    before = event_count(engine)

    response = client.post(page_path("c1"), content=body, headers={"Content-Type": content_type})

    assert response.status_code == 415
    assert response.headers["content-type"].startswith("text/html")
    assert event_count(engine) == before  # read as an empty form, it withdrew everything
    assert {(e.topic, e.status) for e in consent_trail(engine, "c1")} == {
        ("offers", "granted"),
        ("birthday", "granted"),
    }


def test_a_preference_save_with_every_switch_off_is_still_a_form(
    engine: Engine, client: TestClient
) -> None:
    add_customer(engine, "c1", email="c1@example.com")
    record(engine, "c1", "email", ["offers"])

    response = client.post(
        page_path("c1"), content=b"", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert response.status_code == 200
    assert [e.status for e in consent_trail(engine, "c1")] == ["granted", "withdrawn"]


def test_switching_an_email_topic_off_and_on_again_mails_one_confirmation_a_day(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    add_customer(engine, "c1", email="c1@example.com")
    save(client, "c1", "email:offers")
    for _ in range(5):
        clock.advance(minutes=5)
        save(client, "c1")
        clock.advance(minutes=5)
        save(client, "c1", "email:offers", "email:reorder")
    assert len(confirmations(engine, "c1")) == 1

    clock.advance(days=1)
    save(client, "c1")
    save(client, "c1", "email:offers")
    assert len(confirmations(engine, "c1")) == 2


def test_the_day_s_one_confirmation_link_confirms_a_topic_switched_on_after_it(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    add_customer(engine, "c1", email="c1@example.com")
    save(client, "c1", "email:offers")
    clock.advance(minutes=5)
    save(client, "c1", "email:offers", "email:reorder")
    [mail] = confirmations(engine, "c1")
    link = next(word for word in mail.body_text.split() if "/confirm/" in word)

    confirmed = client.post("/confirm/" + link.rsplit("/", 1)[-1])

    assert confirmed.status_code == 200
    latest = {e.topic: e.status for e in consent_trail(engine, "c1")}
    assert latest == {"offers": "granted", "reorder": "granted"}


def test_consent_changes_one_link_records_are_bounded_a_day_then_refused_with_429(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    # Each save that moves a switch appends evidence that is never deleted, so a script
    # holding a forwarded link could grow the consent trail without end.
    from rapport.engine.web.preferences import MAX_PAGE_CHANGES_A_DAY

    add_customer(engine, "c1", email="c1@example.com")
    record(engine, "c1", "email", ["offers"])
    before = event_count(engine)
    answers = []
    for n in range(MAX_PAGE_CHANGES_A_DAY):
        clock.advance(seconds=30)
        form = {} if n % 2 == 0 else {"email:offers": "on"}
        answers.append(client.post(page_path("c1"), data=form))
    # Past the day's changes, every save that would switch the topic on is refused (one
    # switching it off is still recorded: see the test below).
    assert client.post(page_path("c1"), data={}).status_code == 200  # off
    refused = [client.post(page_path("c1"), data={"email:offers": "on"}) for _ in range(5)]

    assert {a.status_code for a in answers} == {200}
    assert event_count(engine) - before == MAX_PAGE_CHANGES_A_DAY + 1
    assert {a.status_code for a in refused} == {429}
    assert all(a.headers["retry-after"] == "3600" for a in refused)
    assert all(a.headers["content-type"].startswith("text/html") for a in refused)

    clock.advance(days=1)
    moved = client.post(page_path("c1"), data={"email:offers": "on"})
    assert moved.status_code == 200
    assert event_count(engine) - before == MAX_PAGE_CHANGES_A_DAY + 2


def test_a_save_that_changes_nothing_is_never_refused_for_the_day_s_changes(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    from rapport.engine.web.preferences import MAX_PAGE_CHANGES_A_DAY

    add_customer(engine, "c1", email="c1@example.com")
    record(engine, "c1", "email", ["offers"])
    for n in range(MAX_PAGE_CHANGES_A_DAY):
        clock.advance(seconds=30)
        client.post(page_path("c1"), data={} if n % 2 == 0 else {"email:offers": "on"})
    state = consent_trail(engine, "c1")[-1].status
    same = {} if state == "withdrawn" else {"email:offers": "on"}

    assert client.post(page_path("c1"), data=same).status_code == 200
    assert client.get(page_path("c1")).status_code == 200


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", "Too many changes for today"),
        ("fa", "تغییرات امروز بیش از حد است"),
        ("zh", "今日更改次数过多"),
    ],
)
def test_the_429_page_says_the_day_s_changes_are_used_up_in_the_reader_s_language(
    engine: Engine, client: TestClient, clock: FakeClock, lang: str, words: str
) -> None:
    from rapport.engine.web.preferences import MAX_PAGE_CHANGES_A_DAY

    add_customer(engine, "c1", email="c1@example.com", locale=lang)
    record(engine, "c1", "email", ["offers"])
    for n in range(MAX_PAGE_CHANGES_A_DAY):
        clock.advance(seconds=30)
        client.post(page_path("c1"), data={} if n % 2 == 0 else {"email:offers": "on"})
    client.post(page_path("c1"), data={})  # off: recorded whatever the day's changes

    refused = client.post(
        f"{page_path('c1')}?lang={lang}",
        data={"email:offers": "on"},
        headers={"Accept-Language": lang},
    )

    assert refused.status_code == 429
    assert words in refused.text


def test_switching_a_topic_off_is_recorded_past_the_day_s_changes(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    """Whoever used up the day's changes (a script holding a forwarded link), the
    customer can still withdraw on the page: leaving must always work, and a
    withdrawal cannot repeat without a grant between, which the bound refuses."""
    from rapport.engine.web.preferences import MAX_PAGE_CHANGES_A_DAY

    add_customer(engine, "c1", email="c1@example.com")
    record(engine, "c1", "email", ["offers"])
    for n in range(MAX_PAGE_CHANGES_A_DAY):
        clock.advance(seconds=30)
        client.post(page_path("c1"), data={} if n % 2 == 0 else {"email:offers": "on"})
    assert consent_trail(engine, "c1")[-1].status != "withdrawn"

    off = client.post(page_path("c1"), data={})

    assert off.status_code == 200
    assert consent_trail(engine, "c1")[-1].status == "withdrawn"
