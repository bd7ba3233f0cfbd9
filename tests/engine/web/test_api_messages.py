"""Transactional messages over the API (issue 19, point 4; docs/api.md): POST
/api/v1/messages renders at once and queues one transactional row due now, once per
token, customer and Idempotency-Key; refusals are JSON naming the field; GET
/api/v1/messages/{id} says what became of it. Requests racing with one key make one
message; ``data`` holding text no database can store, or NaN, is a 422 naming its
JSON pointer, and ``data`` is measured as compact UTF-8 JSON (red-team items 1, 2a,
6). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from factories import REPO, insert_customer
from sqlalchemy import Engine, func, select, update
from starlette.testclient import TestClient

from rapport.engine.core.config import Settings
from rapport.engine.core.models import OUTBOX, MessageStatus
from rapport.engine.delivery import outbox
from rapport.engine.planning.history import history_for
from rapport.engine.rendering.renderer import RenderedMessage, Renderer
from rapport.engine.runtime import services
from rapport.engine.web.api_ingest import REQUESTS_PER_MINUTE
from rapport.engine.web.api_messages import public_id
from rapport.engine.web.api_messages_schema import MAX_DATA_BYTES
from rapport.engine.web.api_tokens import create_token
from rapport.engine.web.app import create_app

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SHIPPED = {"template": "order-shipped", "topic": "shipping", "customer": "C1"}
DATA = {"order_id": "O-1001", "carrier": "Royal Mail", "tracking_url": "https://t.example/1"}


def settings_in(folder: Path, **changes: Any) -> Settings:
    """The shipped ``order-shipped`` set, and a ``broken`` one, in a templates folder."""
    templates = folder / "templates"
    shutil.copytree(REPO / "templates" / "order-shipped", templates / "order-shipped")
    broken = templates / "broken" / "en"
    broken.mkdir(parents=True)
    (broken / "email_subject.txt").write_text("Hello\n", encoding="utf-8")
    (broken / "email.txt").write_text("Hi,\n\n{{ data.order.id }}\n", encoding="utf-8")
    return Settings(base_dir=folder, secret_key="test", **changes)


@dataclass
class Api:
    client: TestClient
    engine: Engine
    tokens: dict[str, str]

    def send(
        self, body: dict[str, Any], key: str | None = "order-O-1001", scope: str = "send"
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[scope]}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post("/api/v1/messages", json=body, headers=headers)

    def status(self, url: str, scope: str = "send") -> Any:
        return self.client.get(url, headers={"Authorization": f"Bearer {self.tokens[scope]}"})

    def rows(self) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(select(OUTBOX).order_by(OUTBOX.c.id)))


@pytest.fixture
def api(engine: Engine, tmp_path: Path) -> Iterator[Api]:
    insert_customer(
        engine, "C1", first_name="Ada", last_name="Lovelace", email="ada@example.com", locale="en"
    )
    insert_customer(engine, "C2", first_name="Reza", locale="fa_IR")  # no address at all
    scopes = ("send", "read", "ingest")
    tokens = {scope: create_token(engine, scope, scope, NOW) for scope in scopes}
    app = create_app(settings_in(tmp_path), engine, clock=lambda: NOW)
    with TestClient(app) as client:
        yield Api(client, engine, tokens)


def test_a_message_is_rendered_and_queued_at_once_as_transactional(api: Api) -> None:
    answer = api.send({**SHIPPED, "data": DATA})
    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] == "queued" and body["url"] == f"/api/v1/messages/{body['id']}"
    assert answer.headers["location"] == body["url"]
    [row] = api.rows()
    assert row.transactional is True and row.topic == "shipping" and row.channel == "email"
    assert row.campaign == "api:order-shipped" and row.customer_id == "C1"
    assert row.status == MessageStatus.QUEUED and row.send_at == NOW and row.locale == "en"
    assert row.subject == "Your order O-1001 is on its way"
    assert "Hi Ada" in row.body_text and "with Royal Mail" in row.body_text
    assert "https://t.example/1" in row.body_text and "nsubscribe" not in row.body_text


def test_the_same_key_and_request_again_is_the_same_message_not_a_second_one(api: Api) -> None:
    first = api.send({**SHIPPED, "data": DATA})
    again = api.send({**SHIPPED, "channel": "email", "data": dict(reversed(DATA.items()))})
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == first.json()
    assert len(api.rows()) == 1


def test_the_same_key_with_another_request_for_the_customer_is_409(api: Api) -> None:
    assert api.send({**SHIPPED, "data": DATA}).status_code == 202
    refused = api.send({**SHIPPED, "data": {**DATA, "order_id": "O-2002"}})
    assert refused.status_code == 409 and "Idempotency-Key" in refused.json()["error"]
    assert len(api.rows()) == 1
    assert api.send({**SHIPPED, "data": DATA}, key="order-O-2002").status_code == 202


@pytest.mark.parametrize("key", [None, "", " ", "k" * 256, "a\tb"])
def test_an_idempotency_key_is_required_and_bounded(api: Api, key: str | None) -> None:
    refused = api.send({**SHIPPED, "data": DATA}, key=key)
    assert refused.status_code == 400 and "Idempotency-Key" in refused.json()["error"]
    assert api.rows() == []


@pytest.mark.parametrize(
    ("change", "pointer", "words"),
    [
        ({"topic": "offers"}, "/topic", "marketing topic"),
        ({"topic": "gossip"}, "/topic", "not a configured topic"),
        ({"campaign": "birthday"}, "/campaign", "consent and planning"),
        ({"template": "../secrets"}, "/template", "lower-case"),
        ({"customer": "C9"}, "/customer", "unknown customer"),
        ({"customer": "C2"}, "/customer", "no email address"),
        ({"channel": "fax"}, "/channel", "unknown channel 'fax'"),
        ({"data": [1, 2]}, "/data", "JSON object"),
        ({"colour": "red"}, "/colour", "unknown field"),
        ({"template": "broken"}, "/template", "email.txt:3"),
        ({"template": "missing"}, "/template", "missing"),
    ],
)
def test_a_wrong_field_is_422_naming_it_and_nothing_is_queued(
    api: Api, change: dict[str, Any], pointer: str, words: str
) -> None:
    refused = api.send({**SHIPPED, "data": DATA, **change})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error.startswith(f"{pointer}:") and words in error, error
    assert api.rows() == []


def test_an_erased_customer_gets_nothing(api: Api) -> None:
    insert_customer(api.engine, "C3", email=None, erased_at=NOW)
    refused = api.send({**SHIPPED, "customer": "C3", "data": DATA})
    assert refused.status_code == 422 and "erased on request" in refused.json()["error"]


def test_a_customer_erased_while_the_message_is_rendered_gets_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The customer is read, the message rendered, then written: an erasure committing
    in between found nothing to blank, and the row greeting Ada was queued after it."""
    from rapport.consent.privacy import erase_customer
    from rapport.engine.web import api_messages

    render = api_messages._render

    def erase_meanwhile(*args: Any, **kwargs: Any) -> Any:
        rendered = render(*args, **kwargs)
        with api.engine.begin() as connection:
            erase_customer(connection, "C1", NOW)
        return rendered

    monkeypatch.setattr(api_messages, "_render", erase_meanwhile)
    refused = api.send({**SHIPPED, "data": DATA})
    assert refused.status_code == 422 and "erased on request" in refused.json()["error"]
    assert api.rows() == []


def test_data_over_its_limit_is_413_and_a_body_that_is_not_json_400(api: Api) -> None:
    refused = api.send({**SHIPPED, "data": {"note": "x" * 17_000}})
    assert refused.status_code == 413 and refused.json()["error"].startswith("/data:")
    broken = api.client.post(
        "/api/v1/messages",
        content=b"{nope",
        headers={"Authorization": f"Bearer {api.tokens['send']}", "Idempotency-Key": "k"},
    )
    assert broken.status_code == 400
    assert api.rows() == []


def test_only_a_send_token_may_send_and_past_the_rate_limit_is_429(api: Api) -> None:
    for scope in ("ingest", "read"):
        assert api.send({**SHIPPED, "data": DATA}, scope=scope).status_code == 403
    assert api.send({}).status_code == 422  # counts as one request
    limiter = api.client.app.state.api_limiter  # type: ignore[attr-defined]
    for _ in range(REQUESTS_PER_MINUTE - 1):
        limiter.allow("api-send:send")
    refused = api.send({**SHIPPED, "data": DATA})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
    assert api.rows() == []


def test_the_status_says_what_became_of_it_with_the_error_redacted(api: Api) -> None:
    url = api.send({**SHIPPED, "data": DATA}).json()["url"]
    for scope in ("send", "read"):
        answer = api.status(url, scope)
        assert answer.status_code == 200
        assert answer.json() == {
            "id": url.rsplit("/", 1)[1],
            "status": "queued",
            "template": "order-shipped",
            "topic": "shipping",
            "channel": "email",
            "locale": "en",
            "created_at": "2026-12-06T12:00:00Z",
            "send_at": "2026-12-06T12:00:00Z",
            "sent_at": None,
            "delivered_at": None,
            "delivery_status": None,
            "attempts": 0,
            "error": None,
        }
    with api.engine.begin() as connection:
        connection.execute(
            update(OUTBOX).values(
                status="failed", attempts=5, last_error="550 <ada@example.com>: no such user"
            )
        )
    failed = api.status(url).json()
    assert failed["status"] == "failed" and failed["attempts"] == 5
    assert failed["error"] == "550 <[email]>: no such user"
    assert api.status(url, "ingest").status_code == 403


def test_a_guessed_or_forged_id_or_a_marketing_message_is_404(api: Api) -> None:
    url = api.send({**SHIPPED, "data": DATA}).json()["url"]
    number = url.rsplit("/", 1)[1].split("-")[0]
    with api.engine.begin() as connection:
        outbox.enqueue(
            connection,
            [
                outbox.outbox_row(
                    customer_id="C1",
                    campaign="birthday",
                    occasion="birthday:2026",
                    channel="email",
                    topic="birthday",
                    locale="en",
                    status=MessageStatus.QUEUED,
                    send_at=NOW,
                    created_at=NOW,
                )
            ],
        )
        marketing = connection.execute(select(func.max(OUTBOX.c.id))).scalar_one()
    key = api.client.app.state.api_message_key  # type: ignore[attr-defined]
    for guess in (number, f"{number}-0000", "2-abc", "x", public_id(key, marketing)):
        answer = api.status(f"/api/v1/messages/{guess}")
        assert answer.status_code == 404 and answer.json() == {"error": "no such message"}


@pytest.mark.parametrize("tag", ["%C3%A9", "%ED%A0%80", "\u06f1"])
def test_an_id_whose_digest_is_not_ascii_is_404(api: Api, tag: str) -> None:
    """A non-ASCII digest (é, an undecodable byte sequence, a Persian digit) cannot be
    compared as text by hmac: it is an id this server did not give, not a 500."""
    number = api.send({**SHIPPED, "data": DATA}).json()["url"].rsplit("/", 1)[1].split("-")[0]
    answer = api.status(f"/api/v1/messages/{number}-{tag}")
    assert answer.status_code == 404 and answer.json() == {"error": "no such message"}


def test_the_same_key_for_another_customer_is_another_message_in_their_language(
    api: Api,
) -> None:
    insert_customer(api.engine, "C4", first_name="سارا", email="sara@example.com", locale="fa_IR")
    first = api.send({**SHIPPED, "data": DATA})
    other = api.send({**SHIPPED, "customer": "C4", "data": DATA})
    assert (first.status_code, other.status_code) == (202, 202)
    assert first.json()["id"] != other.json()["id"]
    sara = api.rows()[1]
    assert sara.customer_id == "C4" and sara.locale == "fa" and "سارا" in sara.body_text
    # The order number keeps its own order inside the Persian line (an isolate), and
    # the subject opens with a Persian letter, so a mail program lays it right to left.
    assert sara.subject == "سفارش \u2068O-1001\u2069 شما در راه است"
    assert "https://t.example/1\n" in sara.body_text


@pytest.mark.parametrize(
    ("locale", "shipped"), [("zh_CN", "您的订单O-1001已发货"), ("zh_TW", "您的訂單O-1001已出貨")]
)
def test_a_chinese_text_message_opens_with_the_bracketed_signature_in_its_script(
    api: Api, locale: str, shipped: str
) -> None:
    insert_customer(
        api.engine, "C6", first_name="芳", last_name="王", phone="+447700900124", locale=locale
    )
    answer = api.send({**SHIPPED, "customer": "C6", "channel": "sms", "data": DATA})
    assert answer.status_code == 202
    [row] = api.rows()
    assert row.body_text.startswith("【") and shipped in row.body_text
    assert row.body_text.endswith("https://t.example/1")


def test_a_transactional_message_never_counts_against_the_marketing_caps(api: Api) -> None:
    assert api.send({**SHIPPED, "data": DATA}).status_code == 202
    with api.engine.connect() as connection:
        recent, planned = history_for(connection, {"C1": "Europe/London"}, NOW.date())
    assert recent == {} and len(planned["C1"]) == 1


def test_a_text_message_is_rendered_from_sms_txt_and_priced_in_segments(api: Api) -> None:
    insert_customer(api.engine, "C5", first_name="Lin", phone="+447700900123", locale="en")
    answer = api.send({**SHIPPED, "customer": "C5", "channel": "sms", "data": DATA})
    assert answer.status_code == 202
    [row] = api.rows()
    assert row.channel == "sms" and row.subject is None and row.segments == 1
    assert (
        row.body_text == "Rapport: your order O-1001 is on its way. Track it: https://t.example/1"
    )


class MeetingRenderer(Renderer):
    """The real renderer, which holds each render until ``parties`` requests are in
    it: every one of them has looked for an earlier message and found none."""

    barrier: threading.Barrier

    def render(self, *args: Any, **kwargs: Any) -> RenderedMessage:
        self.barrier.wait(timeout=20)
        return super().render(*args, **kwargs)


def racing(api: Api, bodies: list[dict[str, Any]]) -> list[Any]:
    """``bodies`` posted at once with one key, all past the look for an earlier
    message before any writes."""
    app = api.client.app
    renderer = services.renderer(app.state.web.settings)  # type: ignore[attr-defined]
    renderer.__class__ = MeetingRenderer
    renderer.barrier = threading.Barrier(len(bodies))  # type: ignore[attr-defined]
    app.state.api_renderer = renderer  # type: ignore[attr-defined]
    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(api.send, bodies))


def test_requests_racing_with_one_key_and_other_data_make_one_message_and_409s(
    api: Api,
) -> None:
    bodies = [{**SHIPPED, "data": {**DATA, "order_id": f"O-{n}"}} for n in range(4)]
    answers = racing(api, bodies)
    assert sorted(answer.status_code for answer in answers) == [202, 409, 409, 409]
    [row] = api.rows()
    [won] = [
        body for body, answer in zip(bodies, answers, strict=True) if answer.status_code == 202
    ]
    assert row.subject == f"Your order {won['data']['order_id']} is on its way"


def test_requests_racing_with_one_key_and_the_same_data_are_one_message(api: Api) -> None:
    answers = racing(api, [{**SHIPPED, "data": DATA}] * 3)
    assert sorted(answer.status_code for answer in answers) == [200, 200, 202]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert len(api.rows()) == 1


@pytest.mark.parametrize(
    ("data", "pointer"),
    [
        ({"order_id": "a", "carrier": "x\u0000y"}, "/data/carrier"),
        (
            {"order_id": "a", "parcels": [{"label": "ok"}, {"label": "\u0000"}]},
            "/data/parcels/1/label",
        ),
        ({"order_id": "a", "a/b": "\u0000"}, "/data/a~1b"),
        ({"order_id": "a", "x\u0000y": "DHL"}, "/data"),
    ],
)
def test_a_nul_in_data_is_422_naming_its_pointer(
    api: Api, data: dict[str, Any], pointer: str
) -> None:
    refused = api.send({**SHIPPED, "data": data})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error.startswith(f"{pointer}: ") and "NUL character" in error, error
    assert "x\u0000y" not in error
    assert api.rows() == []


def test_a_lone_surrogate_in_data_or_a_nul_in_the_customer_is_422(api: Api) -> None:
    body = json.dumps({**SHIPPED, "data": {"order_id": "\ud800"}}).encode()
    headers = {"Authorization": f"Bearer {api.tokens['send']}", "Idempotency-Key": "k1"}
    refused = api.client.post("/api/v1/messages", content=body, headers=headers)
    assert refused.status_code == 422 and refused.json()["error"].startswith("/data/order_id: ")
    nul = api.send({**SHIPPED, "customer": "C1\u0000", "data": DATA})
    assert nul.status_code == 422 and nul.json()["error"].startswith("/customer: ")
    assert api.rows() == []


@pytest.mark.parametrize(("literal", "word"), [("NaN", "NaN"), ("-Infinity", "Infinity")])
def test_nan_or_infinity_in_data_is_422_naming_its_pointer(
    api: Api, literal: str, word: str
) -> None:
    body = '{"template": "order-shipped", "topic": "shipping", "customer": "C1", '
    body += f'"data": {{"order_id": "O-1", "totals": [1, {literal}]}}}}'
    headers = {"Authorization": f"Bearer {api.tokens['send']}", "Idempotency-Key": "k1"}
    refused = api.client.post("/api/v1/messages", content=body.encode(), headers=headers)
    assert refused.status_code == 422
    assert refused.json() == {"error": f"/data/totals/1: {word} is not a JSON number"}
    assert api.rows() == []


def test_data_is_measured_as_compact_utf8_json(api: Api) -> None:
    note = "سلام" * 750  # 3,000 characters, 6,000 bytes of UTF-8, 18,000 as \\uXXXX
    assert len(json.dumps(note)) > MAX_DATA_BYTES
    accepted = api.send({**SHIPPED, "data": {**DATA, "note": note}})
    assert accepted.status_code == 202
    over = "€" * (MAX_DATA_BYTES // 3)  # 3 bytes each: over the limit with the rest
    refused = api.send({**SHIPPED, "data": {**DATA, "note": over}}, key="other")
    assert refused.status_code == 413
    assert refused.json()["error"] == (
        f"/data: more than {MAX_DATA_BYTES} bytes as compact UTF-8 JSON"
    )
    assert len(api.rows()) == 1


def test_a_customer_id_may_be_a_whole_number_as_in_the_ingest_api(api: Api) -> None:
    """docs/api.md: an id is a string or a whole number. ``"customer": 100`` was refused
    as 'is required (a string)' although the field was there."""
    insert_customer(api.engine, "100", email="n@example.com", locale="en")
    answer = api.send({**SHIPPED, "customer": 100, "data": DATA})
    assert answer.status_code == 202, answer.json()
    [row] = api.rows()
    assert row.customer_id == "100"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("100.0", "must be a string or a whole number"),
        ("1E2", "must be a string or a whole number"),
        ("true", "must be a string or a whole number"),
        ("[]", "must be a string or a whole number"),
        ('"  "', "is required"),
    ],
)
def test_a_customer_that_is_no_id_is_422_saying_what_an_id_is(
    api: Api, raw: str, words: str
) -> None:
    body = json.dumps({**SHIPPED, "data": DATA}).replace('"customer": "C1"', f'"customer": {raw}')
    headers = {"Authorization": f"Bearer {api.tokens['send']}", "Idempotency-Key": "k1"}
    refused = api.client.post("/api/v1/messages", content=body, headers=headers)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error.startswith("/customer: ") and words in error, error


def test_a_customer_served_another_language_s_templates_is_greeted_in_that_language(
    api: Api,
) -> None:
    # order-shipped has no Arabic folder: an Arabic reader gets the English e-mail,
    # greeted in English ('Hi Laila,'), not 'مرحبًا Laila,' opening an English letter.
    insert_customer(api.engine, "C3", first_name="Laila", email="laila@example.com", locale="ar_SA")
    assert api.send({**SHIPPED, "customer": "C3", "data": DATA}).status_code == 202
    [row] = api.rows()
    assert row.body_text.startswith("Hi Laila,")
