"""What the provider webhook tests share: the token, the phone numbers, a clock the
test moves, the app's client, and helpers that add customers, record consent and
read it back.

The webhook tests are ``test_sms_inbound.py``, ``test_email_events.py`` and
``test_webhook_auth.py``; they import the plain names from
``tests.engine.web.conftest`` (the name pytest gives this file). A module that defines
its own ``client`` fixture (``test_feedback.py``) uses that one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from factories import REPO, insert_customer
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from rapport.consent.state import granted_pairs
from rapport.consent.store import ConsentChange, record_consent
from rapport.engine.core.config import Settings
from rapport.engine.core.models import CONSENT_EVENT
from rapport.engine.web.app import create_app

T0 = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TOKEN = "hook"
AUTH = {"X-Rapport-Webhook-Token": TOKEN}

PHONES = {
    "en": "+12025550143",
    "fa_IR": "+989121234567",
    "zh_Hans_CN": "+8613800138000",
}


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
