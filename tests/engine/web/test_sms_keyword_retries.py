"""Inbound SMS keywords that a provider retries or delivers late: the customer's last
word wins, and the evidence shows each text once.

Providers retry a webhook they think failed, sometimes minutes later, and deliver out
of order. The generic JSON shape may carry the provider's ``message_id`` and
``received_at``; Twilio's form carries ``MessageSid``. A keyword whose id was processed
already changes nothing and gets the same answer; a keyword counts from when the
provider received it, so a START sent before the customer's latest STOP is kept as
evidence and changes nothing. docs/webhooks.md, "Retried and late keywords".

Every test runs on SQLite and PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import consent_trail
from sqlalchemy import Engine, event, select
from starlette.testclient import TestClient

from rapport.engine.core.models import SMS_INBOUND_ID
from rapport.engine.core.timeutil import isoformat_z
from rapport.engine.web.app import create_app
from rapport.engine.web.sms_inbound import CONFIRM_NOTHING_REPLY, START_REPLY, STOP_REPLY
from tests.engine.web.conftest import (
    AUTH,
    NOW,
    PHONES,
    FakeClock,
    add_customer,
    record,
    sms_pairs,
    webhook_settings,
)

PHONE = PHONES["en"]


def keyword(
    client: TestClient,
    text: str,
    *,
    message_id: str | None = None,
    received_at: datetime | None = None,
) -> Any:
    payload: dict[str, Any] = {"from": PHONE, "to": "+15550001111", "text": text}
    if message_id is not None:
        payload["message_id"] = message_id
    if received_at is not None:
        payload["received_at"] = isoformat_z(received_at)
    response = client.post("/webhooks/sms/inbound", json=payload, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def keyword_rows(engine: Engine, customer_id: str, status: str) -> list[Any]:
    return [
        r
        for r in consent_trail(engine, customer_id)
        if r.source == "sms_keyword" and r.status == status
    ]


@pytest.fixture
def customer(engine: Engine) -> str:
    add_customer(engine, "c1", phone=PHONE)
    record(engine, "c1", "sms", ["offers"])
    return "c1"


def english(message: str) -> str:
    return message.format(brand="Rapport", contact="hello@example.com")


# -- a message id processed once --------------------------------------------------------


def test_a_start_retried_after_a_stop_leaves_the_customer_withdrawn(
    engine: Engine, client: TestClient, clock: FakeClock, customer: str
) -> None:
    """STOP, START, STOP again; then the provider retries the START (its answer was
    lost): the customer's last word was STOP."""
    keyword(client, "STOP", message_id="SM-1", received_at=clock.now)
    clock.advance(minutes=1)
    start_at = clock.now
    keyword(client, "START", message_id="SM-2", received_at=start_at)
    clock.advance(minutes=1)
    keyword(client, "STOP", message_id="SM-3", received_at=clock.now)
    clock.advance(minutes=10)

    answer = keyword(client, "START", message_id="SM-2", received_at=start_at)

    assert sms_pairs(engine, customer) == set()
    assert answer == {"reply": english(START_REPLY)}  # the answer the first delivery got
    assert len(keyword_rows(engine, customer, "granted")) == 1


def test_the_same_stop_delivered_twice_writes_one_evidence_row(
    engine: Engine, client: TestClient, clock: FakeClock, customer: str
) -> None:
    keyword(client, "STOP", message_id="stop-1")
    clock.advance(minutes=1)
    keyword(client, "START", message_id="start-1")
    clock.advance(minutes=5)

    answer = keyword(client, "STOP", message_id="stop-1")

    assert answer == {"reply": english(STOP_REPLY)}
    assert len(keyword_rows(engine, customer, "withdrawn")) == 1
    assert sms_pairs(engine, customer) == {("sms", "offers")}  # START was the last word


def test_a_twilio_message_sid_seen_before_changes_nothing(
    engine: Engine, client: TestClient, clock: FakeClock, customer: str
) -> None:
    def twilio(body: str, sid: str) -> str:
        form = {"From": PHONE, "Body": body, "MessageSid": sid, "AccountSid": "AC1"}
        response = client.post("/webhooks/sms/inbound", data=form, headers=AUTH)
        assert response.status_code == 200
        return response.text

    first = twilio("STOP", "SM" + "a" * 32)
    clock.advance(minutes=1)
    twilio("START", "SM" + "b" * 32)
    clock.advance(minutes=1)

    assert twilio("STOP", "SM" + "a" * 32) == first
    assert len(keyword_rows(engine, customer, "withdrawn")) == 1
    assert sms_pairs(engine, customer) == {("sms", "offers")}


def test_a_repeated_id_is_logged_by_reason_without_the_number(
    client: TestClient, customer: str, caplog: pytest.LogCaptureFixture
) -> None:
    keyword(client, "STOP", message_id="m-1")
    with caplog.at_level(logging.INFO, logger="rapport.engine.web.sms_inbound"):
        keyword(client, "STOP", message_id="m-1")
    assert [getattr(r, "reason", None) for r in caplog.records] == [
        "the message id was processed already"
    ]
    assert PHONE[2:] not in caplog.text


class Together:
    """Holds each delivery at its first consent write until the other one gets there
    too (or ``wait`` seconds pass): without a claim on the message id, both deliveries
    have read the consent state by then and both write."""

    def __init__(self, engine: Engine, wait: float) -> None:
        self.barrier = threading.Barrier(2)
        self.wait = wait
        self.engine = engine

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO CONSENT_EVENT"):
            with contextlib.suppress(threading.BrokenBarrierError):
                self.barrier.wait(self.wait)

    def __enter__(self) -> Together:
        event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self)


class TickingClock:
    """Each reading a second later than the one before: two deliveries at once are
    still two arrivals."""

    def __init__(self, start: datetime) -> None:
        self.ticks = itertools.count()
        self.start = start
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            return self.start + timedelta(seconds=next(self.ticks))


@pytest.fixture
def ticking_client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(webhook_settings(), engine, clock=TickingClock(NOW))
    with TestClient(app) as client:
        yield client


def test_two_deliveries_of_one_id_at_once_are_processed_once(
    engine: Engine, ticking_client: TestClient, customer: str
) -> None:
    answers: list[Any] = []

    def deliver() -> None:
        answers.append(keyword(ticking_client, "STOP", message_id="race-1"))

    with Together(engine, wait=1.5):
        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    assert answers == [{"reply": english(STOP_REPLY)}] * 2
    assert len(keyword_rows(engine, customer, "withdrawn")) == 1
    assert sms_pairs(engine, customer) == set()


# -- the provider's receive time --------------------------------------------------------


def test_a_keyword_is_captured_when_the_provider_received_it(
    engine: Engine, client: TestClient, clock: FakeClock, customer: str
) -> None:
    received = clock.now - timedelta(minutes=7)
    keyword(client, "STOP", received_at=received)
    [stop] = keyword_rows(engine, customer, "withdrawn")
    assert (stop.captured_at, stop.recorded_at) == (received, clock.now)


def test_a_start_delivered_after_a_later_stop_is_evidence_but_changes_nothing(
    engine: Engine, client: TestClient, clock: FakeClock, customer: str
) -> None:
    """The customer sent START, then STOP; the provider delivered the START (its first
    delivery failed) only after the STOP."""
    keyword(client, "STOP", received_at=clock.now)
    clock.advance(minutes=1)
    start_sent = clock.now
    clock.advance(minutes=1)
    keyword(client, "STOP", received_at=clock.now)
    clock.advance(minutes=5)

    keyword(client, "START", received_at=start_sent)

    assert sms_pairs(engine, customer) == set()
    [start] = keyword_rows(engine, customer, "granted")
    assert start.captured_at == start_sent


def test_a_late_start_with_nothing_resumed_says_so(
    client: TestClient, clock: FakeClock, customer: str
) -> None:
    keyword(client, "STOP", received_at=clock.now)
    start_sent = clock.now + timedelta(seconds=30)
    clock.advance(minutes=1)
    keyword(client, "STOP", received_at=clock.now)

    answer = keyword(client, "START", received_at=start_sent)

    assert answer["reply"] != english(START_REPLY)


def test_a_yes_sent_before_a_topic_was_switched_on_confirms_nothing(
    engine: Engine, client: TestClient, clock: FakeClock, customer: str
) -> None:
    """The provider delivers a YES late, after the customer switched a topic on in
    the preference centre: the YES could not have answered that confirmation text."""
    yes_sent = clock.now - timedelta(minutes=3)
    record(engine, customer, "sms", ["birthday"], "pending", "preference_center", clock.now)
    clock.advance(minutes=1)

    answer = keyword(client, "YES", received_at=yes_sent)

    assert answer == {"reply": english(CONFIRM_NOTHING_REPLY)}
    assert [r for r in consent_trail(engine, customer) if r.source == "sms_reply"] == []
    assert sms_pairs(engine, customer) == {("sms", "offers")}


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (timedelta(days=400), "the provider's time is in the future"),
        (timedelta(minutes=6), "the provider's time is in the future"),
        (-timedelta(days=31), "the provider's time is older than the message id retention"),
    ],
)
def test_a_provider_time_out_of_bounds_is_replaced_by_the_arrival_and_logged(
    engine: Engine,
    client: TestClient,
    clock: FakeClock,
    customer: str,
    caplog: pytest.LogCaptureFixture,
    offset: timedelta,
    reason: str,
) -> None:
    with caplog.at_level(logging.INFO, logger="rapport.engine.web.sms_inbound"):
        keyword(client, "STOP", received_at=clock.now + offset)

    [stop] = keyword_rows(engine, customer, "withdrawn")
    assert stop.captured_at == clock.now
    assert reason in [getattr(r, "reason", None) for r in caplog.records]
    assert PHONE[2:] not in caplog.text


def test_a_provider_time_within_the_clock_skew_is_kept(
    engine: Engine, client: TestClient, clock: FakeClock, customer: str
) -> None:
    ahead = clock.now + timedelta(minutes=4)
    keyword(client, "STOP", received_at=ahead)
    [stop] = keyword_rows(engine, customer, "withdrawn")
    assert stop.captured_at == ahead
    assert sms_pairs(engine, customer) == set()


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("received_at", "yesterday", "received_at: not an ISO 8601 date-time"),
        ("received_at", 1733550000, "received_at: must be a string"),
        ("message_id", 5.5, "message_id: must be a string or a whole number"),
        ("message_id", "x" * 256, "message_id: longer than 255 characters"),
        ("message_id", "a\x00b", "message_id: must not contain NUL characters"),
    ],
)
def test_a_malformed_id_or_time_is_refused_naming_the_field(
    client: TestClient, field: str, value: Any, error: str
) -> None:
    payload = {"from": PHONE, "text": "STOP", field: value}
    response = client.post("/webhooks/sms/inbound", json=payload, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"].startswith(error)


def test_a_message_id_holding_a_lone_surrogate_is_refused_and_changes_nothing(
    engine: Engine, client: TestClient, customer: str
) -> None:
    """Valid JSON (an escaped \\ud800) that no database can store: a 400 naming the
    field, as for a NUL, not a 500 from the database; the STOP is not applied."""
    payload = {"from": PHONE, "text": "STOP", "message_id": "SM\ud800"}
    response = client.post(
        "/webhooks/sms/inbound",
        content=json.dumps(payload),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == (
        "message_id: contains a lone surrogate (not a Unicode character)"
    )
    assert keyword_rows(engine, customer, "withdrawn") == []


def test_the_nightly_retention_forgets_ids_after_30_days(
    engine: Engine, client: TestClient, clock: FakeClock, customer: str, tmp_path: Path
) -> None:
    from factories import make_settings

    from rapport.engine.runtime.daemon import Daemon

    keyword(client, "HELP", message_id="old")
    clock.advance(days=2)
    keyword(client, "HELP", message_id="recent")
    daemon = Daemon(
        make_settings(base_dir=tmp_path), engine, clock=lambda: NOW + timedelta(days=31)
    )
    try:
        assert daemon.prune_tick() is not None
    finally:
        daemon.stop(grace=0)
    with engine.connect() as connection:
        kept = connection.execute(select(SMS_INBOUND_ID.c.message_id)).scalars().all()
    assert kept == ["recent"]
