"""A page's write after an erasure that committed while the page was being answered.

The preference page, the double opt-in link, the unsubscribe link and the feedback
question look the customer up, then record what the visitor did, with their IP address
and browser (and a comment), in a transaction of their own. An erasure committing
between the two was followed by the page's write, which put back what the erasure had
just cleared (found by the data tester). Each test makes the erasure commit right after
the page's lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from starlette.testclient import TestClient

from rapport.consent.links import feedback_link, links_for
from rapport.consent.privacy import erase_customer
from rapport.consent.store import grant
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.core.models import CONSENT_EVENT, CUSTOMER, FEEDBACK_ANSWER
from rapport.engine.web.app import create_app

SECRET = "a-test-secret-of-thirty-two-chars!"
NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)


@pytest.fixture
def settings() -> Settings:
    return Settings(secret_key=SECRET)


@pytest.fixture
def client(engine: Engine, settings: Settings) -> TestClient:
    with engine.begin() as connection:
        connection.execute(
            insert(CUSTOMER).values(
                id="C1",
                first_name="Jane",
                email="jane@example.com",
                locale="en_GB",
                timezone="UTC",
                created_at=NOW,
            )
        )
        grant(connection, "C1", "email", "offers", source="test")
    return TestClient(create_app(settings, engine, clock=lambda: NOW))


def erase_after_lookup(monkeypatch: pytest.MonkeyPatch, module: str, engine: Engine) -> None:
    """The page finds the customer, then the erasure commits."""
    import importlib

    page = importlib.import_module(module)
    looked_up: Callable[..., Any] = page.resolve

    def resolve_then_erase(*args: Any, **kwargs: Any) -> Any:
        found = looked_up(*args, **kwargs)
        with engine.begin() as connection:
            erase_customer(connection, "C1", NOW)
        return found

    monkeypatch.setattr(page, "resolve", resolve_then_erase)


def path_of(settings: Settings, link: str) -> str:
    return link.removeprefix(settings.web.base_url.rstrip("/"))


def consent_events(engine: Engine) -> int:
    with engine.connect() as connection:
        query = select(func.count()).where(CONSENT_EVENT.c.customer_id == "C1")
        return int(connection.execute(query).scalar_one())


def test_a_preference_save_after_an_erasure_records_nothing(
    client: TestClient, settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = links_for("C1", "email", settings, Signer(SECRET))["preferences"]
    erase_after_lookup(monkeypatch, "rapport.engine.web.preferences", engine)

    saved = client.post(path_of(settings, link), data={})  # every switch off: withdrawals
    after = consent_events(engine)

    assert saved.status_code == 404
    with engine.connect() as connection:
        kept = connection.execute(
            select(CONSENT_EVENT.c.ip, CONSENT_EVENT.c.user_agent).where(
                CONSENT_EVENT.c.customer_id == "C1"
            )
        ).all()
    assert all(ip is None and agent is None for ip, agent in kept), kept
    assert after == len(kept)


def test_a_feedback_answer_after_an_erasure_keeps_no_comment(
    client: TestClient, settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = feedback_link("C1", "feedback:O1", "email", settings, Signer(SECRET))
    erase_after_lookup(monkeypatch, "rapport.engine.web.feedback", engine)

    answered = client.post(path_of(settings, link), data={"score": "9", "comment": "Jane here"})

    assert answered.status_code == 404
    with engine.connect() as connection:
        comments = connection.execute(select(FEEDBACK_ANSWER.c.comment)).scalars().all()
    assert comments == []


def test_an_unsubscribe_after_an_erasure_records_no_address_or_browser(
    client: TestClient, settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = links_for("C1", "email", settings, Signer(SECRET))["unsubscribe"]
    erase_after_lookup(monkeypatch, "rapport.engine.web.unsubscribe", engine)

    answered = client.post(path_of(settings, link), headers={"User-Agent": "Jane's browser"})

    assert answered.status_code == 404
    with engine.connect() as connection:
        kept = connection.execute(
            select(CONSENT_EVENT.c.ip, CONSENT_EVENT.c.user_agent).where(
                CONSENT_EVENT.c.customer_id == "C1"
            )
        ).all()
    assert all(ip is None and agent is None for ip, agent in kept), kept


def test_a_link_request_answered_after_an_erasure_queues_no_mail_to_her(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "send me my link" form finds the customers with the typed address, then queues the
    e-mail greeting each by name: one erased in between got it queued after her
    erasure, her name and address in a live outbox row."""
    from rapport.engine.core.models import OUTBOX
    from rapport.engine.web import preferences

    looked_up = preferences.customers_by_email

    def find_then_erase(*args: Any, **kwargs: Any) -> Any:
        found = looked_up(*args, **kwargs)
        with engine.begin() as connection:
            erase_customer(connection, "C1", NOW)
        return found

    monkeypatch.setattr(preferences, "customers_by_email", find_then_erase)
    answered = client.post("/preferences", data={"email": "jane@example.com"})

    assert answered.status_code == 200
    with engine.connect() as connection:
        assert connection.execute(select(OUTBOX.c.subject, OUTBOX.c.body_text)).all() == []


def test_a_link_request_locks_the_address_s_holders_in_the_order_an_unsubscribe_does(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unsubscribe locks an address's holders in the order Python sorts their ids;
    the link request locked them in the order the lookup gave (ORDER BY id: on an
    en-US database 'a1' before 'B1'), so the two could deadlock on two holders."""
    from rapport.engine.web import preferences

    with engine.begin() as connection:
        for customer_id in ("a1", "B1"):
            connection.execute(
                insert(CUSTOMER).values(
                    id=customer_id,
                    first_name="Jo",
                    email="jo@example.com",
                    locale="en_GB",
                    timezone="UTC",
                    created_at=NOW,
                )
            )
    looked_up = preferences.customers_by_email
    held = preferences.hold_unerased
    locked: list[str] = []

    def collation_order(*args: Any, **kwargs: Any) -> Any:  # as en-US sorts them
        return sorted(looked_up(*args, **kwargs), key=lambda c: c.id.lower())

    def hold(connection: Any, customer_id: str) -> bool:
        locked.append(customer_id)
        return held(connection, customer_id)

    monkeypatch.setattr(preferences, "customers_by_email", collation_order)
    monkeypatch.setattr(preferences, "hold_unerased", hold)
    assert client.post("/preferences", data={"email": "jo@example.com"}).status_code == 200
    assert locked == sorted(["a1", "B1"]) == ["B1", "a1"]
