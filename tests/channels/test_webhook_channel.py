"""Webhook adapter specifics: the request, its signature, and refusing internal addresses."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from pathlib import Path

import pytest
from channel_servers import Reply, WebhookReceiver
from tls_material import Certificates

from rapport.channels import (
    AdapterOptionsError,
    HeaderInjectionError,
    Outcome,
    OutgoingMessage,
    SendResult,
    WebhookChannel,
    WebhookURLError,
    build_channel,
)
from rapport.channels.mime import message_id_of
from rapport.channels.webhook import SIGNATURE_HEADER, Resolver, address_refusal, sign_body

SMS = OutgoingMessage(
    idempotency_key="c2:birthday:2025-03-01:sms",
    kind="sms",
    to="+8613800138000",
    text="「生日快乐」 回复T退订",
    locale="zh",
    customer_id="c2",
    campaign="birthday",
)
EMAIL = OutgoingMessage(
    idempotency_key="c1:birthday:2025-03-01:email",
    kind="email",
    to="maryam@example.com",
    to_name="مریم",
    subject="تولدت مبارک",
    text="سلام\n",
    html="<p>سلام</p>",
    headers={"List-Unsubscribe": "<https://shop.example/u/t>"},
    locale="fa",
    customer_id="c1",
    campaign="birthday",
)


def resolving(*addresses: str, calls: list[str] | None = None) -> Resolver:
    """A resolver answering ``addresses`` for any host (and noting each lookup)."""

    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        return list(addresses)

    return resolve


async def send(channel: WebhookChannel, message: OutgoingMessage = SMS) -> SendResult:
    async with channel:
        return await channel.send(message)


# --- the request --------------------------------------------------------------------------


async def test_the_request_carries_the_message_as_json(webhook_receiver: WebhookReceiver) -> None:
    channel = WebhookChannel(webhook_receiver.url, allow_private=True, token="tok")
    result = await send(channel, EMAIL)

    assert result.outcome is Outcome.ACCEPTED
    assert result.provider_id == message_id_of(EMAIL)
    [request] = webhook_receiver.requests
    assert request.path == "/hooks/rapport"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == EMAIL.idempotency_key
    assert request.headers["Authorization"] == "Bearer tok"
    assert SIGNATURE_HEADER not in request.headers
    assert request.body == {
        "kind": "email",
        "to": "maryam@example.com",
        "to_name": "مریم",
        "sender": None,
        "subject": "تولدت مبارک",
        "text": "سلام\n",
        "html": "<p>سلام</p>",
        "headers": {"List-Unsubscribe": "<https://shop.example/u/t>"},
        "message_id": result.provider_id,
        "idempotency_key": "c1:birthday:2025-03-01:email",
        "locale": "fa",
        "customer_id": "c1",
        "campaign": "birthday",
    }


async def test_email_fields_reach_the_receiver_without_bidi_controls(
    webhook_receiver: WebhookReceiver,
) -> None:
    # The receiver likely turns these fields into headers: they get what SMTP would carry.
    message = OutgoingMessage(
        **{
            **EMAIL.__dict__,
            "to_name": "Maryam\u202egnp.exe",
            "sender": "Shop\u200f <shop@example.com>",
            "subject": "Invoice \u2067fdp.exe\u2069 \u0646\u06cc\u06a9\u200c\u0646\u0627\u0645",
            "headers": {"List-Unsubscribe": "<https://shop.example/u/t>", "X-Tag": "\u061cb"},
        }
    )
    result = await send(WebhookChannel(webhook_receiver.url, allow_private=True), message)

    assert result.outcome is Outcome.ACCEPTED, result.reason
    [request] = webhook_receiver.requests
    assert request.body["to_name"] == "Maryamgnp.exe"
    assert request.body["sender"] == "Shop <shop@example.com>"
    assert request.body["subject"] == "Invoice fdp.exe \u0646\u06cc\u06a9\u200c\u0646\u0627\u0645"
    assert request.body["headers"]["X-Tag"] == "b"


async def test_the_signature_is_an_hmac_of_the_exact_body(
    webhook_receiver: WebhookReceiver,
) -> None:
    await send(WebhookChannel(webhook_receiver.url, secret="whsec", allow_private=True))

    [request] = webhook_receiver.requests
    expected = hmac.new(b"whsec", request.raw, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert sign_body("whsec", request.raw) == f"sha256={expected}"
    assert json.loads(request.raw)["idempotency_key"] == SMS.idempotency_key


async def test_the_receivers_id_is_kept(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.replies.append(Reply(202, {"id": "evt_1"}))
    result = await send(WebhookChannel(webhook_receiver.url, allow_private=True))

    assert (result.outcome, result.provider_id) == (Outcome.ACCEPTED, "evt_1")


async def test_redirects_are_not_followed(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.replies.append(Reply(302, None, {"Location": "http://169.254.169.254/"}))
    result = await send(WebhookChannel(webhook_receiver.url, allow_private=True))

    assert result.outcome is Outcome.PERMANENT
    assert "redirect" in (result.reason or "")
    assert len(webhook_receiver.requests) == 1


async def test_environment_proxies_are_ignored(
    webhook_receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy would connect on our behalf to an address nobody checked."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    result = await send(WebhookChannel(webhook_receiver.url, allow_private=True))

    assert result.outcome is Outcome.ACCEPTED, result.reason


# --- refusing internal addresses --------------------------------------------------------------

REFUSED_URLS = {
    "loopback": "http://127.0.0.1:8080/hook",
    "private": "http://10.1.2.3/hook",
    "private-172": "https://172.16.5.4/hook",
    "private-192": "http://192.168.0.10/hook",
    "metadata": "http://169.254.169.254/latest/meta-data/",
    "ipv6-loopback": "http://[::1]:8080/hook",
    "ipv6-unique-local": "http://[fd00::1]/hook",
    "ipv4-mapped": "http://[::ffff:127.0.0.1]/hook",
    "unspecified": "http://0.0.0.0/hook",
    "localhost": "http://localhost:8080/hook",
    "ietf-protocol-assignments": "http://192.0.0.8/hook",
    "benchmarking": "http://198.18.0.1/hook",
    "shared-cgnat": "http://100.64.0.1/hook",
    "ipv6-documentation": "http://[3fff::1]/hook",
    "short-ipv4": "http://127.1/hook",
}


@pytest.mark.parametrize("url", REFUSED_URLS.values(), ids=REFUSED_URLS.keys())
async def test_internal_addresses_are_refused_at_send_time(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    channel = WebhookChannel(url)  # configuring is fine; sending is refused
    result = await send(channel)

    assert result.outcome is Outcome.PERMANENT
    assert not result.suppress
    reason = result.reason or ""
    assert "refused" in reason and "allow_private" in reason
    assert any(
        word in reason
        for word in ("loopback", "private", "link-local", "unspecified", "non-global")
    )
    assert "webhook refused" in caplog.text


@pytest.mark.parametrize("url", ["http://0177.0.0.1/hook", "http://example.com:99999/hook"])
def test_a_url_httpx_cannot_use_is_refused_when_configured_not_at_send(url: str) -> None:
    with pytest.raises(WebhookURLError, match="the webhook URL is not valid"):
        WebhookChannel(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://a..b/hook",  # an empty label
        "http://.:80/hook",  # nothing but the root
        "http://" + "a" * 64 + ".example/hook",  # a label over 63 characters
        "http://xn--/hook",  # an A-label with no Punycode after its prefix
        "http://xn--zz.example/hook",  # an A-label that does not decode
        "http://[::1/hook",  # an IPv6 literal left open
        "http://[zz]/hook",  # brackets around no address
    ],
)
def test_a_host_no_lookup_could_use_is_refused_when_configured_not_at_send(url: str) -> None:
    with pytest.raises(WebhookURLError, match="the webhook URL is not valid"):
        WebhookChannel(url)


async def test_a_host_the_resolver_cannot_encode_is_a_failure_not_an_exception() -> None:
    async def cannot_encode(host: str, port: int) -> list[str]:
        raise UnicodeError("encoding with 'idna' codec failed (label empty or too long)")

    result = await send(WebhookChannel("https://hooks.example/in", resolver=cannot_encode))

    assert result.outcome is Outcome.PERMANENT
    assert "the webhook URL cannot be used" in (result.reason or "")


async def test_the_metadata_address_is_named(webhook_receiver: WebhookReceiver) -> None:
    result = await send(WebhookChannel("http://169.254.169.254/latest/"))

    assert "169.254.169.254" in (result.reason or "")
    assert "cloud metadata" in (result.reason or "")


async def test_a_name_resolving_to_loopback_is_refused(webhook_receiver: WebhookReceiver) -> None:
    port = webhook_receiver.server_address[1]
    result = await send(WebhookChannel(f"http://localhost:{port}/hooks/rapport"))

    assert result.outcome is Outcome.PERMANENT
    assert "'localhost'" in (result.reason or "") and "loopback" in (result.reason or "")
    assert webhook_receiver.requests == []
    assert webhook_receiver.connections == 0


async def test_every_resolved_address_is_checked(webhook_receiver: WebhookReceiver) -> None:
    """One public and one internal answer: refused, whichever would have been used."""
    channel = WebhookChannel(
        "https://hooks.example/in", resolver=resolving("93.184.215.14", "10.0.0.7")
    )
    result = await send(channel)

    assert result.outcome is Outcome.PERMANENT
    assert "10.0.0.7" in (result.reason or "")


async def test_the_connection_goes_to_the_vetted_address(
    webhook_receiver: WebhookReceiver,
) -> None:
    """The name is resolved once, by the check, and that very address is dialled: the
    receiver on 127.0.0.1 gets the request although ``hooks.example`` resolves nowhere,
    with the configured name in ``Host``."""
    port = webhook_receiver.server_address[1]
    calls: list[str] = []
    channel = WebhookChannel(
        f"http://hooks.example:{port}/hooks/rapport",
        allow_private=True,
        resolver=resolving("127.0.0.1", calls=calls),
    )
    result = await send(channel)

    assert result.outcome is Outcome.ACCEPTED, result.reason
    assert calls == ["hooks.example"]
    [request] = webhook_receiver.requests
    assert request.headers["Host"] == f"hooks.example:{port}"


async def test_an_international_name_is_looked_up_as_the_host_the_request_names(
    webhook_receiver: WebhookReceiver,
) -> None:
    """IDNA 2008 writes straße as ``xn--strae-oqa``, IDNA 2003 (Python's ``idna`` codec)
    as ``strasse``: another domain, with another owner. The name looked up (and the TLS
    name checked) is the one the ``Host`` header carries, never the other."""
    port = webhook_receiver.server_address[1]
    calls: list[str] = []
    channel = WebhookChannel(
        f"http://straße.example:{port}/hooks/rapport",
        allow_private=True,
        resolver=resolving("127.0.0.1", calls=calls),
    )
    result = await send(channel)

    assert result.outcome is Outcome.ACCEPTED, result.reason
    assert calls == ["xn--strae-oqa.example"]
    [request] = webhook_receiver.requests
    assert request.headers["Host"] == f"xn--strae-oqa.example:{port}"


async def test_dns_rebinding_cannot_redirect_the_connection(
    webhook_receiver: WebhookReceiver,
) -> None:
    """A resolver that answers a public address first and loopback afterwards: the
    check sees the public one and the connection uses it, never a second lookup."""
    port = webhook_receiver.server_address[1]
    calls: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["93.184.215.14"] if len(calls) == 1 else ["127.0.0.1"]

    channel = WebhookChannel(
        f"http://rebind.example:{port}/hooks/rapport", resolver=rebinding, timeout=0.3
    )
    result = await send(channel)

    assert result.outcome is Outcome.TRANSIENT  # 93.184.215.14 is unreachable from here
    assert calls == ["rebind.example"]
    assert webhook_receiver.requests == []


async def test_tls_is_checked_against_the_configured_name_not_the_pinned_ip(
    tls_webhook_receiver: WebhookReceiver, certificates: Certificates
) -> None:
    """The certificate covers localhost and 127.0.0.1. Dialled at 127.0.0.1 for the name
    ``localhost`` the handshake passes; for ``wrong.test``, pinned to the same IP, it
    must fail: verification follows the configured name, not the address."""
    port = tls_webhook_receiver.server_address[1]

    def channel(host: str) -> WebhookChannel:
        return WebhookChannel(
            f"https://{host}:{port}/hooks/rapport",
            allow_private=True,
            ca_file=certificates.ca_file,
            resolver=resolving("127.0.0.1"),
            timeout=5,
        )

    good = await send(channel("localhost"))
    bad = await send(channel("wrong.test"))

    assert good.outcome is Outcome.ACCEPTED, good.reason
    assert bad.outcome is not Outcome.ACCEPTED
    assert len(tls_webhook_receiver.requests) == 1
    assert tls_webhook_receiver.requests[0].headers["Host"] == f"localhost:{port}"


async def test_allow_private_reaches_loopback(webhook_receiver: WebhookReceiver) -> None:
    result = await send(WebhookChannel(webhook_receiver.url, allow_private=True))

    assert result.outcome is Outcome.ACCEPTED, result.reason
    assert len(webhook_receiver.requests) == 1


async def test_a_host_that_does_not_resolve_is_transient() -> None:
    async def failing(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    result = await send(WebhookChannel("https://hooks.example/in", resolver=failing))

    assert result.outcome is Outcome.TRANSIENT
    assert not result.reached


async def test_a_certificate_it_cannot_trust_was_not_reached(
    tls_webhook_receiver: WebhookReceiver,
) -> None:
    """A failed TLS handshake: the request never left, so the try is no attempt."""
    result = await send(WebhookChannel(tls_webhook_receiver.url, allow_private=True, timeout=5))

    assert (result.outcome, result.reached) == (Outcome.TRANSIENT, False)
    assert tls_webhook_receiver.requests == []


async def test_a_receiver_asking_to_wait_is_heard(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.replies.append(Reply(429, {"error": "slow down"}, {"Retry-After": "42"}))
    result = await send(WebhookChannel(webhook_receiver.url, allow_private=True))

    assert (result.outcome, result.retry_after, result.reached) == (Outcome.TRANSIENT, 42.0, True)


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.0.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local (cloud metadata)"),
        ("169.254.10.10", "link-local"),
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fd12:3456::1", "private"),
        ("ff02::1", "multicast"),
        ("fd00:ec2::254", "cloud metadata"),
        ("::ffff:169.254.169.254", "link-local (cloud metadata) (embedded in IPv6)"),
        ("2002:0a00:0001::", "private (embedded in IPv6)"),
        ("64:ff9b::7f00:1", "loopback (embedded in IPv6)"),
        ("8.8.8.8", None),
        ("93.184.215.14", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_address_categories(address: str, category: str | None) -> None:
    assert address_refusal(ipaddress.ip_address(address)) == category


# --- configuration and header safety -----------------------------------------------------


@pytest.mark.parametrize("url", ["ftp://h/x", "http://", "hooks.example/x"])
def test_a_bad_url_is_refused(url: str) -> None:
    with pytest.raises(WebhookURLError):
        WebhookChannel(url)


def test_options_from_configuration(tmp_path: Path) -> None:
    channel = build_channel(
        "webhook",
        {"adapter": "webhook", "url": "https://hooks.example/in", "allow_private": True},
        tmp_path,
    )

    assert isinstance(channel, WebhookChannel)
    assert channel.allow_private is True
    with pytest.raises(AdapterOptionsError):
        build_channel("webhook", {"url": "https://hooks.example/in", "secret": ""}, tmp_path)


def test_a_token_that_would_inject_a_header_is_refused() -> None:
    with pytest.raises(HeaderInjectionError):
        WebhookChannel("https://hooks.example/in", token="t\r\nX-Evil: 1")


async def test_unsafe_email_fields_never_leave(webhook_receiver: WebhookReceiver) -> None:
    channel = WebhookChannel(webhook_receiver.url, allow_private=True)
    async with channel:
        results = [
            await channel.send(OutgoingMessage(**{**EMAIL.__dict__, field: "x\r\nBcc: a@b.c"}))
            for field in ("to_name", "subject", "sender", "to")
        ]

    assert {r.outcome for r in results} == {Outcome.PERMANENT}
    assert webhook_receiver.requests == []


def test_repr_hides_the_secret_token_and_url_password() -> None:
    shown = repr(
        WebhookChannel("https://u:pw-S3CRET@hooks.example/in", secret="S3CRET", token="S3CRET")
    )

    assert "S3CRET" not in shown
    assert "secret='***'" in shown and "token='***'" in shown
    assert "https://u:***@hooks.example/in" in shown
