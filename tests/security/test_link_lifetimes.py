"""Each kind of signed link works until the last second of its lifetime and not one
second longer, pinned with the lifetimes written out (issue 15, point 12): a change to
a lifetime fails here, whatever the constants say.

Unsubscribe links live 180 days (RFC 8058 senders keep one-click links working for
long), preference links 90, feedback links 60 and confirmation links 7.
"""

from __future__ import annotations

from collections.abc import Iterator

import itsdangerous.timed
import pytest
from factories import REPO, insert_customer
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.consent.tokens import InvalidToken, Purpose, Signer, TokenClaims
from rapport.engine.core.config import Settings
from rapport.engine.web.app import create_app

SECRET = "lifetime-tests"
SIGNED_AT = 1_790_000_000
DAY = 86_400

LIFETIMES = {
    Purpose.UNSUBSCRIBE: 180 * DAY,  # 15,552,000 s
    Purpose.PREFERENCES: 90 * DAY,  # 7,776,000 s
    Purpose.FEEDBACK: 60 * DAY,  # 5,184,000 s
    Purpose.CONFIRM: 7 * DAY,  # 604,800 s
}

PAGES = {
    Purpose.UNSUBSCRIBE: "/unsubscribe/{}",
    Purpose.PREFERENCES: "/preferences/{}",
    Purpose.FEEDBACK: "/feedback/{}",
    Purpose.CONFIRM: "/confirm/{}",
}

CLAIMS = {
    Purpose.UNSUBSCRIBE: TokenClaims("LIFE1", "email"),
    Purpose.PREFERENCES: TokenClaims("LIFE1", "email"),
    Purpose.FEEDBACK: TokenClaims("LIFE1", "email", "fb:O-1"),
    Purpose.CONFIRM: TokenClaims("LIFE1", "email", "offers"),
}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The signing clock (itsdangerous reads it to sign and to check a token's age)."""
    now = [SIGNED_AT]
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: now[0])
    return now


@pytest.mark.parametrize("purpose", list(Purpose))
def test_a_link_opens_one_second_before_its_lifetime_ends_and_not_one_after(
    purpose: Purpose, clock: list[int]
) -> None:
    signer = Signer(SECRET)
    token = signer.sign(purpose, CLAIMS[purpose])
    clock[0] = SIGNED_AT + LIFETIMES[purpose] - 1
    assert signer.verify(purpose, token) == CLAIMS[purpose]
    clock[0] = SIGNED_AT + LIFETIMES[purpose] + 1
    with pytest.raises(InvalidToken):
        signer.verify(purpose, token)


def test_a_link_from_the_future_is_refused(clock: list[int]) -> None:
    signer = Signer(SECRET)
    token = signer.sign(Purpose.PREFERENCES, CLAIMS[Purpose.PREFERENCES])
    clock[0] = SIGNED_AT - 2
    with pytest.raises(InvalidToken):
        signer.verify(Purpose.PREFERENCES, token)


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    insert_customer(engine, "LIFE1", locale="en", email="life@example.com")
    settings = Settings(base_dir=REPO, secret_key=SECRET)
    with TestClient(create_app(settings, engine), follow_redirects=False) as test_client:
        yield test_client


@pytest.mark.parametrize("purpose", list(Purpose))
def test_the_web_app_honours_each_link_until_its_last_second(
    purpose: Purpose, clock: list[int], client: TestClient
) -> None:
    token = Signer(SECRET).sign(purpose, CLAIMS[purpose])
    page = PAGES[purpose].format(token)
    clock[0] = SIGNED_AT + LIFETIMES[purpose] - 1
    assert client.get(page).status_code == 200
    clock[0] = SIGNED_AT + LIFETIMES[purpose] + 1
    assert client.get(page).status_code == 404
