"""HTTP SMS adapter specifics beyond the contract: the request, each reply, each failure."""

from __future__ import annotations

import httpx
import pytest
from channel_servers import Reply, SMSProviderServer, free_port

from rapport.channels import (
    HeaderInjectionError,
    HTTPSMSChannel,
    HTTPSMSURLError,
    Outcome,
    OutgoingMessage,
    SendResult,
)
from rapport.channels.http_sms import http_error_result

MESSAGE = OutgoingMessage(
    idempotency_key="c2:birthday:2025-03-01:sms",
    kind="sms",
    to="+8613800138000",
    text="「生日快乐」 回复T退订",
    locale="zh",
)


async def send(
    server: SMSProviderServer, *replies: Reply, token: str | None = None, timeout: float = 5
) -> SendResult:
    """Script the provider's replies, then send MESSAGE through a fresh adapter."""
    server.replies.extend(replies)
    async with HTTPSMSChannel(server.url, token=token, timeout=timeout) as channel:
        return await channel.send(MESSAGE)


async def test_the_request_follows_the_provider_contract(sms_provider: SMSProviderServer) -> None:
    await send(sms_provider, token="tok")

    [request] = sms_provider.requests
    assert request.path == "/v1/sms"
    assert request.body == {
        "to": "+8613800138000",
        "text": "「生日快乐」 回复T退订",
        "idempotency_key": "c2:birthday:2025-03-01:sms",
        "locale": "zh",
    }
    assert request.headers["Idempotency-Key"] == "c2:birthday:2025-03-01:sms"
    assert request.headers["Authorization"] == "Bearer tok"
    assert request.headers["Content-Type"] == "application/json"


async def test_no_token_no_authorization_header(sms_provider: SMSProviderServer) -> None:
    await send(sms_provider)

    assert "Authorization" not in sms_provider.requests[0].headers


@pytest.mark.parametrize(
    ("reply", "provider_id"),
    [
        (Reply(200, {"id": "abc"}), "abc"),
        (Reply(201, {"message_id": 42}), "42"),
        (Reply(202, None), None),
        (Reply(200, {"status": "queued"}), None),
    ],
)
async def test_2xx_is_accepted_with_the_providers_id(
    sms_provider: SMSProviderServer, reply: Reply, provider_id: str | None
) -> None:
    result = await send(sms_provider, reply)

    assert result.outcome is Outcome.ACCEPTED
    assert result.provider_id == provider_id


@pytest.mark.parametrize(
    ("reply", "outcome", "suppress"),
    [
        (Reply(429, {"error": "rate_limited"}, {"Retry-After": "30"}), Outcome.TRANSIENT, False),
        (Reply(408, None), Outcome.TRANSIENT, False),
        (Reply(500, None), Outcome.TRANSIENT, False),
        (Reply(503, {"error": "invalid_number"}), Outcome.TRANSIENT, False),
        (Reply(400, {"error": "invalid_number"}), Outcome.PERMANENT, True),
        (Reply(422, {"code": "invalid_recipient"}), Outcome.PERMANENT, True),
        (Reply(400, {"error": "text_too_long"}), Outcome.PERMANENT, False),
        (Reply(401, None), Outcome.PERMANENT, False),
        (Reply(404, {"error": "no such route"}), Outcome.PERMANENT, False),
    ],
)
async def test_error_replies(
    sms_provider: SMSProviderServer, reply: Reply, outcome: Outcome, suppress: bool
) -> None:
    result = await send(sms_provider, reply)

    assert (result.outcome, result.suppress) == (outcome, suppress)
    assert str(reply.status) in result.reason


async def test_retry_after_is_kept_in_the_reason(sms_provider: SMSProviderServer) -> None:
    result = await send(sms_provider, Reply(429, None, {"Retry-After": "30"}))

    assert "30" in result.reason
    assert result.retry_after == 30.0


@pytest.mark.parametrize("status", [408, 425, 500, 502, 504])
async def test_any_transient_reply_carrying_retry_after_is_read(
    sms_provider: SMSProviderServer, status: int
) -> None:
    result = await send(sms_provider, Reply(status, None, {"Retry-After": "5"}))

    assert (result.outcome, result.retry_after, result.reached) == (Outcome.TRANSIENT, 5.0, True)


async def test_retry_after_on_a_permanent_refusal_changes_nothing(
    sms_provider: SMSProviderServer,
) -> None:
    result = await send(sms_provider, Reply(403, {"error": "forbidden"}, {"Retry-After": "5"}))

    assert (result.outcome, result.retry_after) == (Outcome.PERMANENT, None)


async def test_a_transient_reply_without_retry_after_asks_no_wait(
    sms_provider: SMSProviderServer,
) -> None:
    result = await send(sms_provider, Reply(503, None))

    assert (result.outcome, result.retry_after, result.reached) == (Outcome.TRANSIENT, None, True)
    assert result.reason == "HTTP 503"


async def test_redirects_are_not_followed(sms_provider: SMSProviderServer) -> None:
    elsewhere = Reply(307, None, {"Location": "http://169.254.169.254/latest"})
    result = await send(sms_provider, elsewhere)

    assert result.outcome is Outcome.PERMANENT
    assert len(sms_provider.requests) == 1


async def test_a_slow_provider_times_out_as_transient(sms_provider: SMSProviderServer) -> None:
    result = await send(sms_provider, Reply(200, {"id": "late"}, delay=1.0), timeout=0.2)

    assert result.outcome is Outcome.TRANSIENT
    assert result.reached, "the request went out: it may have been sent, so it counts"


async def test_a_provider_that_hangs_up_without_a_reply_was_reached(
    sms_provider: SMSProviderServer,
) -> None:
    result = await send(sms_provider, Reply(200, None, hang_up=True))

    assert result.outcome is Outcome.TRANSIENT
    assert result.reached
    assert len(sms_provider.requests) == 1


async def test_a_provider_that_is_down_is_transient() -> None:
    async with HTTPSMSChannel(f"http://127.0.0.1:{free_port()}/sms", timeout=5) as channel:
        result = await channel.send(MESSAGE)

    assert result.outcome is Outcome.TRANSIENT
    assert not result.reached, "connection refused: the provider never saw the request"


async def test_a_host_that_does_not_resolve_was_not_reached() -> None:
    async with HTTPSMSChannel("http://sms.invalid/send", timeout=5) as channel:
        result = await channel.send(MESSAGE)

    assert (result.outcome, result.reached) == (Outcome.TRANSIENT, False)


async def test_a_proxy_named_by_the_environment_is_used(
    sms_provider: SMSProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{free_port()}")  # nothing listens
    result = await send(sms_provider)

    assert result.outcome is Outcome.TRANSIENT
    assert not result.reached
    assert sms_provider.requests == []


async def test_the_connection_is_kept_for_the_next_message(
    sms_provider: SMSProviderServer,
) -> None:
    async with HTTPSMSChannel(sms_provider.url) as channel:
        results = [await channel.send(MESSAGE) for _ in range(3)]

    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 3
    assert sms_provider.connections == 1


def _all_subclasses(cls: type[Exception]) -> list[type[Exception]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_all_subclasses(sub))
    return found


@pytest.mark.parametrize("cls", _all_subclasses(httpx.RequestError), ids=lambda cls: cls.__name__)
def test_every_httpx_request_error_is_mapped(cls: type[Exception]) -> None:
    result = http_error_result(cls("boom"))

    assert result is not None
    before_sending = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
    if result.outcome is Outcome.TRANSIENT:
        assert result.reached is not issubclass(cls, before_sending), "reached only if it left"


def test_errors_that_are_not_ours_are_not_swallowed() -> None:
    assert http_error_result(KeyError("bug")) is None


@pytest.mark.parametrize("url", ["ftp://h/sms", "http://", "sms.example/send"])
def test_bad_url_is_refused(url: str) -> None:
    with pytest.raises(HTTPSMSURLError):
        HTTPSMSChannel(url)


def test_a_token_that_would_inject_a_header_is_refused() -> None:
    with pytest.raises(HeaderInjectionError):
        HTTPSMSChannel("https://sms.example/send", token="t\r\nX-Evil: 1")


def test_repr_hides_the_token() -> None:
    assert "s3cret" not in repr(HTTPSMSChannel("https://sms.example/send", token="s3cret"))
