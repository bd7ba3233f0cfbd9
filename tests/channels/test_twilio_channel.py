"""Twilio adapter specifics beyond the contract: the request, each reply, each failure."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from channel_harness import ACCOUNT_SID
from channel_servers import Reply, TwilioServer, free_port

from rapport.channels import (
    AdapterOptionsError,
    Outcome,
    OutgoingMessage,
    SendResult,
    TwilioSMSChannel,
    build_channel,
)
from rapport.channels.twilio import DEFAULT_BASE_URL

PHONE = "+989121234567"
MESSAGE = OutgoingMessage(
    idempotency_key="c2:birthday:2025-03-01:sms",
    kind="sms",
    to=PHONE,
    text="تولدت مبارک! لغو: STOP",
    locale="fa",
)


def channel(server: TwilioServer, **changes: object) -> TwilioSMSChannel:
    options: dict[str, object] = {
        "account_sid": ACCOUNT_SID,
        "auth_token": "tok",
        "from_number": "+15550100",
        "base_url": server.url,
        "timeout": 5,
    }
    options.update(changes)
    return TwilioSMSChannel(**options)  # type: ignore[arg-type]


async def send(server: TwilioServer, *replies: Reply, **changes: object) -> SendResult:
    server.replies.extend(replies)
    async with channel(server, **changes) as twilio:
        return await twilio.send(MESSAGE)


async def test_the_request_is_twilios(twilio_server: TwilioServer) -> None:
    result = await send(twilio_server)

    assert result.outcome is Outcome.ACCEPTED
    [request] = twilio_server.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.body == {"To": PHONE, "From": "+15550100", "Body": MESSAGE.text}
    assert request.headers["I-Twilio-Idempotency-Token"] == MESSAGE.idempotency_key
    expected = base64.b64encode(f"{ACCOUNT_SID}:tok".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


async def test_a_messaging_service_may_replace_or_accompany_from(
    twilio_server: TwilioServer,
) -> None:
    await send(twilio_server, from_number=None, messaging_service_sid="MG123")
    await send(twilio_server, messaging_service_sid="MG123")

    first, second = (r.body for r in twilio_server.requests)
    assert first == {"To": PHONE, "Body": MESSAGE.text, "MessagingServiceSid": "MG123"}
    assert second["From"] == "+15550100" and second["MessagingServiceSid"] == "MG123"


@pytest.mark.parametrize(
    ("reply", "provider_id"),
    [
        (Reply(201, {"sid": "SMabc", "status": "queued"}), "SMabc"),
        (Reply(200, {"sid": "SMdef"}), "SMdef"),
        (Reply(201, None), None),
    ],
)
async def test_success_keeps_the_message_sid(
    twilio_server: TwilioServer, reply: Reply, provider_id: str | None
) -> None:
    result = await send(twilio_server, reply)

    assert (result.outcome, result.provider_id) == (Outcome.ACCEPTED, provider_id)


def _error(status: int, code: int) -> Reply:
    # Twilio's message repeats the number; reasons must not.
    return Reply(
        status, {"code": code, "message": f"The 'To' number {PHONE} ...", "status": status}
    )


@pytest.mark.parametrize(
    ("reply", "outcome", "suppress"),
    [
        (_error(429, 20429), Outcome.TRANSIENT, False),
        (Reply(500, None), Outcome.TRANSIENT, False),
        (Reply(503, {"code": 21211}), Outcome.TRANSIENT, False),
        (Reply(408, None), Outcome.TRANSIENT, False),
        (_error(400, 21211), Outcome.PERMANENT, True),
        (_error(400, 21610), Outcome.PERMANENT, True),
        (_error(400, 21614), Outcome.PERMANENT, True),
        (_error(400, 21408), Outcome.PERMANENT, False),
        (_error(400, 21612), Outcome.PERMANENT, False),
        (_error(401, 20003), Outcome.PERMANENT, False),
        (Reply(404, None), Outcome.PERMANENT, False),
        (Reply(400, {"code": "21211"}), Outcome.PERMANENT, False),
    ],
)
async def test_error_replies(
    twilio_server: TwilioServer, reply: Reply, outcome: Outcome, suppress: bool
) -> None:
    result = await send(twilio_server, reply)

    assert (result.outcome, result.suppress) == (outcome, suppress)
    reason = result.reason or ""
    assert str(reply.status) in reason
    if isinstance(reply.body, dict) and isinstance(reply.body.get("code"), int):
        assert str(reply.body["code"]) in reason
    assert PHONE not in reason


async def test_retry_after_is_kept(twilio_server: TwilioServer) -> None:
    result = await send(twilio_server, Reply(429, None, {"Retry-After": "7"}))

    assert result.outcome is Outcome.TRANSIENT
    assert "7" in (result.reason or "")
    assert (result.retry_after, result.reached) == (7.0, True)


async def test_retry_after_as_a_date_on_a_503(twilio_server: TwilioServer) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(minutes=5), usegmt=True)
    result = await send(twilio_server, Reply(503, _error(503, 20503).body, {"Retry-After": when}))

    assert result.outcome is Outcome.TRANSIENT
    assert result.retry_after is not None and 295 <= result.retry_after <= 300
    assert "Twilio error 20503" in (result.reason or "")


async def test_redirects_are_not_followed(twilio_server: TwilioServer) -> None:
    result = await send(twilio_server, Reply(301, None, {"Location": "http://169.254.169.254/"}))

    assert result.outcome is Outcome.PERMANENT
    assert len(twilio_server.requests) == 1


async def test_a_slow_api_times_out_as_transient(twilio_server: TwilioServer) -> None:
    result = await send(twilio_server, Reply(201, {"sid": "SMlate"}, delay=1.0), timeout=0.2)

    assert result.outcome is Outcome.TRANSIENT
    assert result.reached


async def test_an_api_that_is_down_is_transient() -> None:
    twilio = TwilioSMSChannel(
        ACCOUNT_SID, "tok", "+15550100", base_url=f"http://127.0.0.1:{free_port()}", timeout=5
    )
    async with twilio:
        result = await twilio.send(MESSAGE)

    assert result.outcome is Outcome.TRANSIENT
    assert not result.reached


def test_defaults_to_twilios_api() -> None:
    twilio = TwilioSMSChannel(ACCOUNT_SID, "tok", "+15550100")

    assert twilio.base_url == DEFAULT_BASE_URL == "https://api.twilio.com"
    assert twilio.url.startswith("https://api.twilio.com/2010-04-01/Accounts/AC")


@pytest.mark.parametrize(
    "options",
    [
        {"account_sid": ACCOUNT_SID, "auth_token": "t"},  # no sender
        {"account_sid": "AC/../x", "auth_token": "t", "from_number": "+1"},
        {"account_sid": ACCOUNT_SID, "auth_token": "", "from_number": "+1"},
        {"account_sid": ACCOUNT_SID, "auth_token": "t", "from_number": "+1", "base_url": "ftp://h"},
        {"account_sid": ACCOUNT_SID, "from_number": "+1"},  # no token
    ],
)
def test_unusable_options_are_refused(options: dict[str, object], tmp_path: Path) -> None:
    with pytest.raises(AdapterOptionsError, match="twilio"):
        build_channel("twilio", options, tmp_path)


def test_repr_hides_the_auth_token_but_shows_the_account() -> None:
    shown = repr(TwilioSMSChannel(ACCOUNT_SID, "s3cret-token", "+15550100"))

    assert "s3cret-token" not in shown
    assert "auth_token='***'" in shown
    assert ACCOUNT_SID in shown
