"""The provider webhooks read their JSON bodies strictly (RFC 8259), through the real app.

A body whose meaning depends on the parser is refused with ``400`` and a message saying
why, and changes nothing: a key repeated in one object (Python keeps the last value,
other parsers the first, so ``{"text": "HELLO", "text": "STOP"}`` may or may not
withdraw consent), ``NaN`` or ``Infinity`` (not JSON numbers), and a body in UTF-16 or
UTF-32 (JSON exchanged between systems is UTF-8; Python's parser guessed the encoding).
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.engine.web.conftest import AUTH, PHONES, add_customer, event_count, record, sms_pairs

JSON = {**AUTH, "Content-Type": "application/json"}
PATHS = ["/webhooks/sms/inbound", "/webhooks/sms/status", "/webhooks/email/events"]


def _stop(engine: Engine) -> None:
    add_customer(engine, "c1", phone=PHONES["en"])
    record(engine, "c1", "sms", ["offers"])


@pytest.mark.parametrize("path", PATHS)
def test_a_webhook_body_repeating_a_key_is_refused(
    engine: Engine, client: TestClient, path: str
) -> None:
    _stop(engine)
    body = f'{{"from": "{PHONES["en"]}", "text": "HELLO", "text": "STOP"}}'.encode()
    before = event_count(engine)
    response = client.post(path, content=body, headers=JSON)
    assert response.status_code == 400
    assert response.json() == {"error": 'the body\'s JSON repeats the key "text" in one object'}
    assert event_count(engine) == before
    assert sms_pairs(engine, "c1") == {("sms", "offers")}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("path", PATHS)
def test_a_webhook_body_holding_nan_or_infinity_is_refused(
    engine: Engine, client: TestClient, path: str, constant: str
) -> None:
    _stop(engine)
    body = f'{{"from": "{PHONES["en"]}", "text": "STOP", "extra": {constant}}}'.encode()
    before = event_count(engine)
    response = client.post(path, content=body, headers=JSON)
    assert response.status_code == 400
    assert response.json() == {"error": f"the body's JSON holds {constant}, not a JSON number"}
    assert event_count(engine) == before
    assert sms_pairs(engine, "c1") == {("sms", "offers")}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("path", PATHS)
def test_a_webhook_body_not_in_utf8_is_refused(
    engine: Engine, client: TestClient, path: str, encoding: str
) -> None:
    _stop(engine)
    body = f'{{"from": "{PHONES["en"]}", "text": "STOP"}}'.encode(encoding)
    before = event_count(engine)
    response = client.post(path, content=body, headers=JSON)
    assert response.status_code == 400
    assert response.json() == {"error": "the body is not UTF-8 (JSON is sent as UTF-8)"}
    assert event_count(engine) == before
    assert sms_pairs(engine, "c1") == {("sms", "offers")}


def test_a_webhook_body_in_utf8_with_a_byte_order_mark_is_read(
    engine: Engine, client: TestClient
) -> None:
    """RFC 8259 lets a parser ignore a UTF-8 byte order mark; the STOP counts."""
    _stop(engine)
    body = f'{{"from": "{PHONES["en"]}", "text": "STOP"}}'.encode("utf-8-sig")
    response = client.post("/webhooks/sms/inbound", content=body, headers=JSON)
    assert response.status_code == 200
    assert sms_pairs(engine, "c1") == set()


FORM = {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/webhooks/sms/inbound", f"From={PHONES['en']}&Body=HELLO&Body=STOP", "Body"),
        ("/webhooks/sms/inbound", f"From=%2B15550000000&From={PHONES['en']}&Body=STOP", "From"),
        ("/webhooks/sms/status", "MessageSid=SM1&MessageSid=SM2&MessageStatus=delivered",
         "MessageSid"),
    ],
)  # fmt: skip
def test_a_twilio_form_repeating_a_field_is_refused(
    engine: Engine, client: TestClient, path: str, body: str, field: str
) -> None:
    """The form twin of a repeated JSON key: Body=HELLO&Body=STOP was read as HELLO
    (the first value), another reader might take STOP. Twilio sends each field once."""
    _stop(engine)
    before = event_count(engine)
    response = client.post(path, content=body.replace("+", "%2B").encode(), headers=FORM)
    assert response.status_code == 400
    assert response.json() == {"error": f"{field}: given more than once in the form"}
    assert event_count(engine) == before
    assert sms_pairs(engine, "c1") == {("sms", "offers")}


@pytest.mark.parametrize("path", ["/webhooks/sms/inbound", "/webhooks/sms/status"])
def test_a_twilio_form_of_more_than_200_fields_is_refused_saying_so(
    engine: Engine, client: TestClient, path: str
) -> None:
    """A form of 201 short UTF-8 fields was refused as 'form body is not UTF-8
    URL-encoded fields', which it is; the cap on fields was the reason. Twilio sends
    a few dozen."""
    _stop(engine)
    before = event_count(engine)
    fields = "&".join(f"Extra{n}=x" for n in range(200))
    body = f"From={PHONES['en']}&Body=STOP&{fields}".replace("+", "%2B")
    response = client.post(path, content=body.encode(), headers=FORM)
    assert response.status_code == 400
    assert response.json() == {"error": "the form has more than 200 fields"}
    assert event_count(engine) == before
