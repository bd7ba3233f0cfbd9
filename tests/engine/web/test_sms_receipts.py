"""SMS delivery receipts through the real web app: ``POST /webhooks/sms/status``.

Posted as providers post them: Twilio's status callback form (with its documented
field names, authenticated by the token as the Basic password of the callback URL) and
the generic JSON shape (the token header). A receipt marks the sent message by its
provider id; the first final report wins, so repeats and late reports change nothing;
an undelivered or failed report with a permanent code suppresses the number as a hard
bounce does; unknown ids are ignored; a malformed body is refused whole. The report's
``delivered`` counts SMS receipts beside e-mail delivery events.

Every test runs on SQLite and PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from starlette.testclient import TestClient

from rapport.engine.core.config import Settings
from rapport.engine.core.models import OUTBOX, SUPPRESSION
from rapport.engine.delivery.suppression import suppressed_addresses
from rapport.engine.reports.text import compute
from rapport.engine.web.app import create_app
from tests.engine.web.conftest import (
    AUTH,
    NOW,
    PHONES,
    TOKEN,
    FakeClock,
    add_customer,
    webhook_settings,
)

URL = "/webhooks/sms/status"
PHONE = PHONES["fa_IR"]
SENT_AT = NOW - timedelta(minutes=10)
ACCOUNT = "AC" + "0" * 32


def sid(n: int) -> str:
    return f"SM{n:032x}"


def sent_message(
    engine: Engine,
    customer_id: str,
    provider_id: str | None,
    *,
    channel: str = "sms",
    campaign: str = "birthday",
    sent_at: datetime = SENT_AT,
) -> int:
    with engine.begin() as connection:
        return connection.execute(
            insert(OUTBOX)
            .values(
                idempotency_key=f"{customer_id}:{campaign}:{provider_id}:{channel}",
                customer_id=customer_id,
                campaign=campaign,
                occasion=f"{provider_id}",
                channel=channel,
                topic="offers",
                locale="fa_IR",
                body_text="x",
                status="sent",
                send_at=sent_at,
                sent_at=sent_at,
                created_at=sent_at,
                provider_id=provider_id,
            )
            .returning(OUTBOX.c.id)
        ).scalar_one()


def delivery(engine: Engine, message_id: int) -> tuple[str, str | None, str | None, Any]:
    with engine.connect() as connection:
        row = connection.execute(
            select(
                OUTBOX.c.status,
                OUTBOX.c.delivery_status,
                OUTBOX.c.delivery_error,
                OUTBOX.c.delivered_at,
            ).where(OUTBOX.c.id == message_id)
        ).one()
    return row.status, row.delivery_status, row.delivery_error, row.delivered_at


def suppressions(engine: Engine) -> dict[tuple[str, str], tuple[str, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                SUPPRESSION.c.channel,
                SUPPRESSION.c.address,
                SUPPRESSION.c.reason,
                SUPPRESSION.c.detail,
            )
        )
        return {(r.channel, r.address): (r.reason, r.detail) for r in rows}


def twilio(client: TestClient, message_sid: str, status: str, code: str | None = None) -> Any:
    """A status callback as Twilio posts it (form fields as documented by Twilio),
    authenticated by the token as the Basic password of the callback URL."""
    form = {
        "AccountSid": ACCOUNT,
        "ApiVersion": "2010-04-01",
        "From": "+15017122661",
        "To": PHONE,
        "MessageSid": message_sid,
        "SmsSid": message_sid,
        "MessageStatus": status,
        "SmsStatus": status,
    }
    if code is not None:
        form["ErrorCode"] = code
    return client.post(URL, data=form, auth=("twilio", TOKEN))


def generic(client: TestClient, payload: Any) -> Any:
    """Posted as JSON with escapes, so a lone surrogate (which no database can store,
    and httpx's ``json=`` cannot encode) is sent as valid JSON, ``"\\ud800"``."""
    return client.post(
        URL, content=json.dumps(payload), headers={**AUTH, "Content-Type": "application/json"}
    )


@pytest.fixture
def c1(engine: Engine) -> str:
    add_customer(engine, "c1", locale="fa_IR", phone=PHONE)
    return "c1"


# -- recording ---------------------------------------------------------------------------


def test_a_twilio_delivered_callback_marks_the_message_delivered(
    engine: Engine, client: TestClient, c1: str
) -> None:
    message = sent_message(engine, c1, sid(1))

    response = twilio(client, sid(1), "delivered")

    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "applied": 1, "suppressed": 0, "ignored": 0}
    status, delivery_status, error, delivered_at = delivery(engine, message)
    assert (status, delivery_status, error) == ("sent", "delivered", None)
    assert delivered_at == NOW


def test_generic_json_receipts_record_each_outcome_and_ignore_unknown_ids(
    engine: Engine, client: TestClient, c1: str
) -> None:
    delivered, undelivered, failed = (sent_message(engine, c1, f"gen-{n}") for n in range(3))

    response = generic(
        client,
        [
            {"message_id": "gen-0", "status": "delivered", "occurred_at": "2025-06-01T11:55:00Z"},
            {"message_id": "gen-1", "status": "undelivered", "error_code": "30003"},
            {"message_id": "gen-2", "status": "failed", "error_code": 30008},
            {"message_id": "nobody-sent-this", "status": "delivered"},
        ],
    )

    assert response.json() == {"accepted": 4, "applied": 3, "suppressed": 0, "ignored": 1}
    assert delivery(engine, delivered) == (
        "sent",
        "delivered",
        None,
        datetime(2025, 6, 1, 11, 55, tzinfo=UTC),
    )
    assert delivery(engine, undelivered) == ("sent", "undelivered", "30003", None)
    assert delivery(engine, failed) == ("sent", "failed", "30008", None)
    # Transient codes (handset off, unknown error) suppress nothing.
    assert suppressions(engine) == {}


def test_a_provider_clock_ahead_of_ours_does_not_date_delivery_in_the_future(
    engine: Engine, client: TestClient, c1: str
) -> None:
    message = sent_message(engine, c1, "ahead")
    future = (NOW + timedelta(hours=3)).isoformat()
    generic(client, {"message_id": "ahead", "status": "delivered", "occurred_at": future})
    assert delivery(engine, message)[3] == NOW


def test_an_unknown_id_is_answered_ignored(engine: Engine, client: TestClient, c1: str) -> None:
    response = twilio(client, sid(99), "undelivered", "30005")
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "applied": 0, "suppressed": 0, "ignored": 1}
    assert suppressions(engine) == {}


def test_an_email_with_the_same_provider_id_is_not_an_sms(
    engine: Engine, client: TestClient, c1: str
) -> None:
    email = sent_message(engine, c1, "shared-id", channel="email")
    assert (
        generic(client, {"message_id": "shared-id", "status": "delivered"}).json()["ignored"] == 1
    )
    assert delivery(engine, email)[1] is None


def test_a_message_not_sent_yet_is_not_matched(engine: Engine, client: TestClient, c1: str) -> None:
    message = sent_message(engine, c1, sid(5))
    with engine.begin() as connection:
        connection.execute(OUTBOX.update().where(OUTBOX.c.id == message).values(status="sending"))
    assert twilio(client, sid(5), "delivered").json()["ignored"] == 1
    assert delivery(engine, message)[1] is None


# -- idempotency and order ---------------------------------------------------------------


def test_repeating_a_receipt_changes_nothing_and_gets_the_same_answer(
    engine: Engine, client: TestClient, clock: FakeClock, c1: str
) -> None:
    delivered = sent_message(engine, c1, sid(1))
    bounced = sent_message(engine, c1, sid(2))

    answers = []
    states = []
    for _ in range(2):
        answers.append(
            (
                twilio(client, sid(1), "delivered").json(),
                twilio(client, sid(2), "undelivered", "30005").json(),
            )
        )
        states.append(
            (delivery(engine, delivered), delivery(engine, bounced), suppressions(engine))
        )
        clock.advance(minutes=5)

    assert answers[0] == answers[1]
    assert states[0] == states[1]
    assert answers[0][1] == {"accepted": 1, "applied": 1, "suppressed": 1, "ignored": 0}


@pytest.mark.parametrize(
    ("reports", "final"),
    [
        # Twilio's callbacks can arrive in any order: a late "sent" or "queued" is no news.
        ([("delivered", None), ("sent", None), ("queued", None)], ("delivered", None)),
        # The first final report wins; a contradicting one later changes nothing ...
        ([("delivered", None), ("undelivered", "30005")], ("delivered", None)),
        ([("failed", "30003"), ("delivered", None)], ("failed", "30003")),
        # ... and non-final reports before it do not stop it.
        ([("queued", None), ("sent", None), ("delivered", None)], ("delivered", None)),
    ],
)
def test_reports_out_of_order_keep_the_first_final_one(
    engine: Engine,
    client: TestClient,
    c1: str,
    reports: list[tuple[str, str | None]],
    final: tuple[str, str | None],
) -> None:
    message = sent_message(engine, c1, sid(7))
    for status, code in reports:
        assert twilio(client, sid(7), status, code).json()["applied"] == 1
    assert delivery(engine, message)[1:3] == final
    # A "delivered" that lost to a failure, or a failure that lost to "delivered",
    # never suppresses: only the stored report counts.
    assert suppressions(engine) == {}


def test_late_reports_in_one_request_are_applied_in_order(
    engine: Engine, client: TestClient, c1: str
) -> None:
    message = sent_message(engine, c1, "batch")
    response = generic(
        client,
        [
            {"message_id": "batch", "status": "sent"},
            {"message_id": "batch", "status": "delivered"},
            {"message_id": "batch", "status": "failed", "error_code": "invalid_number"},
        ],
    )
    assert response.json() == {"accepted": 3, "applied": 3, "suppressed": 0, "ignored": 0}
    assert delivery(engine, message)[1] == "delivered"
    assert suppressions(engine) == {}


# -- permanent errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("undelivered", "30005"),  # unknown destination handset
        ("undelivered", "30006"),  # landline or unreachable carrier
        ("failed", "21610"),  # the recipient replied STOP to the sender
        ("failed", "21211"),  # not a valid phone number
        ("failed", "21614"),  # not a mobile number
    ],
)
def test_a_permanent_twilio_error_suppresses_the_number_like_a_bounce(
    engine: Engine, client: TestClient, c1: str, status: str, code: str
) -> None:
    message = sent_message(engine, c1, sid(3))

    response = twilio(client, sid(3), status, code)

    assert response.json() == {"accepted": 1, "applied": 1, "suppressed": 1, "ignored": 0}
    assert delivery(engine, message)[1:3] == (status, code)
    ((key, (reason, detail)),) = suppressions(engine).items()
    assert key == ("sms", PHONE)
    assert reason == "bounce"
    assert code in (detail or "") and PHONE not in (detail or "")
    # Dispatch and planning ask the same list before every send.
    with engine.connect() as connection:
        assert suppressed_addresses(connection, [("sms", PHONE)]) == {("sms", PHONE)}


def test_a_generic_invalid_number_suppresses_the_number(
    engine: Engine, client: TestClient, c1: str
) -> None:
    sent_message(engine, c1, "g-9")
    response = generic(
        client, {"message_id": "g-9", "status": "failed", "error_code": "invalid_number"}
    )
    assert response.json()["suppressed"] == 1
    assert set(suppressions(engine)) == {("sms", PHONE)}


@pytest.mark.parametrize("code", ["30003", "30004", "30007", "30008", None])
def test_a_transient_or_missing_error_code_suppresses_nothing(
    engine: Engine, client: TestClient, c1: str, code: str | None
) -> None:
    sent_message(engine, c1, sid(4))
    assert twilio(client, sid(4), "undelivered", code).json()["suppressed"] == 0
    assert suppressions(engine) == {}


def test_an_erased_customers_number_is_not_written_back(engine: Engine, client: TestClient) -> None:
    add_customer(engine, "gone", phone=None, erased=True)
    sent_message(engine, "gone", sid(6))
    assert twilio(client, sid(6), "undelivered", "30005").json()["applied"] == 1
    assert suppressions(engine) == {}


# -- refusals ----------------------------------------------------------------------------


def test_a_receipt_without_the_token_is_refused_and_changes_nothing(
    engine: Engine, client: TestClient, c1: str
) -> None:
    message = sent_message(engine, c1, sid(1))
    form = {"MessageSid": sid(1), "MessageStatus": "undelivered", "ErrorCode": "30005"}

    assert client.post(URL, data=form).status_code == 401
    assert client.post(URL, data=form, auth=("twilio", "wrong")).status_code == 401
    no_header = client.post(URL, json={"message_id": sid(1), "status": "delivered"})
    assert no_header.status_code == 401
    assert no_header.headers["WWW-Authenticate"].startswith("Basic")
    assert delivery(engine, message)[1] is None
    assert suppressions(engine) == {}


def test_receipts_are_refused_until_a_token_is_set(engine: Engine) -> None:
    with TestClient(create_app(webhook_settings(None), engine)) as unset:
        response = unset.post(URL, json={"message_id": "x", "status": "delivered"})
    assert response.status_code == 503


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"status": "delivered"}, "item 1: message_id: required"),
        ({"message_id": "", "status": "delivered"}, "item 1: message_id: required"),
        (
            {"message_id": 5.5, "status": "delivered"},
            "item 1: message_id: must be a string or a whole number",
        ),
        (
            {"message_id": "a", "status": "failed", "error_code": 3.0005e4},
            "item 1: error_code: must be a string or a whole number",
        ),
        ({"message_id": "a" * 256, "status": "delivered"}, "item 1: message_id: longer than 255"),
        (
            {"message_id": "a\x00b", "status": "delivered"},
            "item 1: message_id: must not contain NUL",
        ),
        (
            {"message_id": "a\ud800", "status": "delivered"},
            "item 1: message_id: contains a lone surrogate (not a Unicode character)",
        ),
        (
            {"message_id": "a", "status": "failed", "error_code": "3\ud800"},
            "item 1: error_code: contains a lone surrogate (not a Unicode character)",
        ),
        ({"message_id": "a", "status": "read"}, "item 1: status:"),
        ({"message_id": "a"}, "item 1: status:"),
        ({"message_id": "a", "status": "failed", "error_code": ["1"]}, "item 1: error_code:"),
        ({"message_id": "a", "status": "failed", "error_code": "3\x00"}, "item 1: error_code:"),
        ({"message_id": "a", "status": "delivered", "occurred_at": "soon"}, "item 1: occurred_at:"),
        ("delivered", "item 1: must be a JSON object"),
    ],
)
def test_a_malformed_receipt_refuses_the_whole_request(
    engine: Engine, client: TestClient, c1: str, bad: Any, message: str
) -> None:
    good = sent_message(engine, c1, "good")

    response = generic(
        client, [{"message_id": "good", "status": "undelivered", "error_code": "30005"}, bad]
    )

    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert delivery(engine, good)[1] is None
    assert suppressions(engine) == {}


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"MessageStatus": "delivered"}, "MessageSid: required"),
        ({"MessageSid": sid(1)}, "MessageStatus: required"),
        (
            {"MessageSid": "SM\x00", "MessageStatus": "delivered"},
            "MessageSid: must not contain NUL",
        ),
        (
            {"MessageSid": sid(1), "MessageStatus": "failed", "ErrorCode": "9" * 65},
            "ErrorCode: longer than 64",
        ),
    ],
)
def test_a_malformed_twilio_form_names_the_field(
    engine: Engine, client: TestClient, c1: str, form: dict[str, str], message: str
) -> None:
    message_id = sent_message(engine, c1, sid(1))
    response = client.post(URL, data=form, auth=("twilio", TOKEN))
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert delivery(engine, message_id)[1] is None


def test_bodies_beyond_the_caps_and_other_types_are_refused(client: TestClient) -> None:
    assert (
        client.post(
            URL, content=b"nope", headers={**AUTH, "Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert generic(client, "delivered").status_code == 400
    too_many = [{"message_id": f"m{n}", "status": "delivered"} for n in range(1001)]
    assert generic(client, too_many).status_code == 413
    long_form = {"MessageSid": sid(1), "MessageStatus": "delivered", "Extra": "x" * 17_000}
    assert client.post(URL, data=long_form, auth=("twilio", TOKEN)).status_code == 413
    plain = client.post(URL, content=b"delivered", headers={**AUTH, "Content-Type": "text/plain"})
    assert plain.status_code == 415


# -- the report --------------------------------------------------------------------------


def test_the_reports_delivered_figure_counts_sms_receipts_and_email_events(
    engine: Engine, client: TestClient, c1: str
) -> None:
    add_customer(engine, "c2", email="c2@example.com")
    day = datetime(2025, 5, 20, 9, tzinfo=UTC)
    for n in range(4):
        sent_message(engine, c1, sid(10 + n), campaign="spring", sent_at=day)
    sent_message(
        engine, "c2", "<e1@rapport.example>", channel="email", campaign="spring", sent_at=day
    )

    twilio(client, sid(10), "delivered")
    generic(
        client,
        [
            {"message_id": sid(11), "status": "delivered"},
            {"message_id": sid(12), "status": "undelivered", "error_code": "30003"},
        ],
    )
    twilio(client, sid(11), "delivered")  # a repeat counts once
    email = client.post(
        "/webhooks/email/events",
        json={"type": "delivery", "email": "c2@example.com", "message_id": "e1@rapport.example"},
        headers=AUTH,
    )
    assert email.json() == {"accepted": 1, "suppressed": 0, "applied": 1, "ignored": 0}

    report = compute(engine, Settings(), date(2025, 5, 1), date(2025, 5, 31))
    (spring,) = [c for c in report["campaigns"] if c["campaign"] == "spring"]
    assert (spring["sent"], spring["delivered"]) == (5, 3)
