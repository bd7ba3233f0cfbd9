"""The channel contract: every adapter, against its real far side, passes the same tests.

Parametrized over the built-ins (see ``conftest.py`` for the harnesses). A third-party
adapter earns its place by passing these too.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
from channel_harness import (
    ALL_ADAPTERS,
    BODY_LIMIT,
    CAPABILITIES,
    CONNECTION,
    EMAIL_ADAPTERS,
    ONE_KIND,
    REFUSES,
    SMS_ADAPTERS,
    Harness,
    Refusal,
    adapters_with,
)
from channel_servers import SMSProviderServer

import rapport.channels
from rapport.channels import (
    Channel,
    HeaderInjectionError,
    Outcome,
    OutgoingMessage,
    RecordingChannel,
    UnknownAdapterError,
    adapter_class,
    adapter_names,
    build_channel,
    check_header_value,
    message_id_for,
)

ADDRESS = "maryam.ahmadi@example.com"
PHONE = "+989121234567"
UNSUBSCRIBE = {
    "List-Unsubscribe": "<https://shop.example/u/tok3n>, <mailto:unsub@shop.example>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


def email(key: str = "c1:birthday:2025-03-01:email", **changes: object) -> OutgoingMessage:
    message = OutgoingMessage(
        idempotency_key=key,
        kind="email",
        to=ADDRESS,
        to_name="مریم احمدی",
        subject="تولدت مبارک «مریم» 「生日快乐」",
        text="سلام مریم،\nتولدت مبارک!\n「生日快乐」，祝你幸福。\n",
        html="<p dir='rtl'>تولدت مبارک</p><p>「生日快乐」</p>",
        headers=UNSUBSCRIBE,
        locale="fa",
        customer_id="c1",
        campaign="birthday",
    )
    return replace(message, **changes)  # type: ignore[arg-type]


def sms(key: str = "c2:birthday:2025-03-01:sms", **changes: object) -> OutgoingMessage:
    message = OutgoingMessage(
        idempotency_key=key,
        kind="sms",
        to=PHONE,
        text="تولدت مبارک! 「生日快乐」 لغو: STOP",
        locale="fa",
        customer_id="c2",
        campaign="birthday",
    )
    return replace(message, **changes)  # type: ignore[arg-type]


def message_for(harness: Harness, key: str = "k:1") -> OutgoingMessage:
    """A message of a kind the adapter carries (e-mail when it carries both)."""
    return email(key) if "email" in harness.channel.kinds else sms(key)


def lines(text: str) -> str:
    return text.replace("\r\n", "\n").rstrip("\n")


# --- identity ----------------------------------------------------------------------


@pytest.mark.parametrize("harness", ALL_ADAPTERS, indirect=True)
def test_declares_name_and_kinds(harness: Harness) -> None:
    assert isinstance(harness.channel, Channel)
    assert harness.channel.name == harness.name
    assert harness.channel.kinds
    assert harness.channel.kinds <= {"email", "sms"}


@pytest.mark.parametrize("harness", ALL_ADAPTERS, indirect=True)
def test_declares_capabilities_on_the_class(harness: Harness) -> None:
    cls = type(harness.channel)
    limit, rate = cls.max_body_chars, cls.rate_per_second

    assert limit is None or (isinstance(limit, int) and limit > 0)
    assert rate is None or (isinstance(rate, float) and rate > 0)
    assert isinstance(cls.supports_html, bool)
    if "email" in cls.kinds:
        assert cls.supports_html == harness.sees_html, "declared HTML support is what arrives"
    else:
        assert not cls.supports_html


@pytest.mark.parametrize("harness", ALL_ADAPTERS, indirect=True)
def test_the_capability_table_says_what_each_adapter_does(harness: Harness) -> None:
    """The tests below that need a capability run only for the adapters the table
    gives it, so the table must be true."""
    has = CAPABILITIES[harness.name]
    assert (BODY_LIMIT in has) == (type(harness.channel).max_body_chars is not None)
    assert (ONE_KIND in has) == (harness.channel.kinds != {"email", "sms"})
    assert (REFUSES in has) == (type(harness).refuse_next is not Harness.refuse_next)
    assert (CONNECTION in has) == (harness.connections() is not None)


@pytest.mark.parametrize("harness", adapters_with(BODY_LIMIT), indirect=True)
async def test_a_body_over_the_declared_limit_is_permanent_and_not_sent(harness: Harness) -> None:
    limit = harness.channel.max_body_chars
    assert limit is not None
    at_limit = await harness.channel.send(replace(message_for(harness, "k:1"), text="x" * limit))
    over = await harness.channel.send(replace(message_for(harness, "k:2"), text="x" * (limit + 1)))

    assert at_limit.outcome is Outcome.ACCEPTED, at_limit.reason
    assert over.outcome is Outcome.PERMANENT
    assert not over.suppress
    assert str(limit) in (over.reason or "")
    assert len(harness.delivered()) == 1


@pytest.mark.parametrize("harness", ALL_ADAPTERS, indirect=True)
def test_repr_shows_options_but_never_a_secret(harness: Harness) -> None:
    shown = [repr(harness.channel), str(harness.channel)]

    for text in shown:
        assert text.startswith(f"{type(harness.channel).__name__}(")
        for secret in harness.secrets:
            assert secret not in text
    if harness.secrets:
        assert "***" in shown[0]


# --- delivery intact ---------------------------------------------------------------


@pytest.mark.parametrize("harness", EMAIL_ADAPTERS, indirect=True)
async def test_email_arrives_intact(harness: Harness) -> None:
    message = email()
    result = await harness.channel.send(message)

    assert result.outcome is Outcome.ACCEPTED, result.reason
    [got] = harness.delivered()
    assert got.kind == "email"
    assert got.to == ADDRESS
    assert got.subject == message.subject
    assert lines(got.text) == lines(message.text)
    if harness.sees_html:
        assert got.to_name == message.to_name
        assert got.html is not None and lines(got.html) == lines(message.html or "")


@pytest.mark.parametrize("harness", SMS_ADAPTERS, indirect=True)
async def test_sms_arrives_intact(harness: Harness) -> None:
    message = sms()
    result = await harness.channel.send(message)

    assert result.outcome is Outcome.ACCEPTED, result.reason
    [got] = harness.delivered()
    assert (got.kind, got.to, lines(got.text)) == ("sms", PHONE, lines(message.text))


@pytest.mark.parametrize("harness", EMAIL_ADAPTERS, indirect=True)
async def test_message_id_is_derived_from_the_key_and_stable(harness: Harness) -> None:
    message = email()
    first = await harness.channel.send(message)
    second = await harness.channel.send(message)

    expected = message_id_for(message.idempotency_key)
    assert first.provider_id == second.provider_id == expected
    assert [d.message_id for d in harness.delivered()][-1] == expected
    other = await harness.channel.send(email("c1:birthday:2026-03-01:email"))
    assert other.provider_id != expected


@pytest.mark.parametrize("harness", EMAIL_ADAPTERS, indirect=True)
async def test_an_explicit_message_id_is_kept(harness: Harness) -> None:
    result = await harness.channel.send(email(message_id="<fixed-1@shop.example>"))

    assert result.provider_id == "<fixed-1@shop.example>"
    [got] = harness.delivered()
    assert got.message_id == "<fixed-1@shop.example>"


@pytest.mark.parametrize("harness", EMAIL_ADAPTERS, indirect=True)
async def test_list_unsubscribe_headers_survive(harness: Harness) -> None:
    await harness.channel.send(email())

    [got] = harness.delivered()
    assert got.headers["List-Unsubscribe"] == UNSUBSCRIBE["List-Unsubscribe"]
    assert got.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


# --- refusing unsafe headers ---------------------------------------------------------

INJECTIONS = {
    "subject": {"subject": "Hello\r\nBcc: everyone@example.com"},
    "subject-lf": {"subject": "Hello\nBcc: everyone@example.com"},
    "subject-nul": {"subject": "Hello\x00"},
    "to": {"to": "maryam@example.com\r\nBcc: everyone@example.com"},
    "to_name": {"to_name": "Maryam\r\nBcc: everyone@example.com"},
    "sender": {"sender": "Shop <shop@example.com>\nBcc: everyone@example.com"},
    "header-value": {"headers": {"List-Unsubscribe": "<https://x>\r\nBcc: e@example.com"}},
    "header-name": {"headers": {"X-A\r\nBcc": "e@example.com"}},
    "message-id": {"message_id": "<a@b>\r\nBcc: e@example.com"},
}


@pytest.mark.parametrize("field", INJECTIONS)
@pytest.mark.parametrize("harness", EMAIL_ADAPTERS, indirect=True)
async def test_header_injection_is_refused_before_sending(harness: Harness, field: str) -> None:
    result = await harness.channel.send(email(**INJECTIONS[field]))

    assert result.outcome is Outcome.PERMANENT
    assert not result.suppress
    assert "CR, LF or NUL" in (result.reason or "")
    assert harness.delivered() == []
    assert harness.connections() in (None, 0), "connected although nothing was sendable"
    if isinstance(harness.channel, RecordingChannel):
        assert harness.channel.sent == []


EVIL = "Evil\r\nBcc: x@example.com"


@pytest.mark.parametrize("field", ["to_name", "subject"])
@pytest.mark.parametrize("harness", EMAIL_ADAPTERS, indirect=True)
async def test_a_crlf_name_or_subject_fails_validation_naming_the_field(
    harness: Harness, field: str
) -> None:
    result = await harness.channel.send(email(**{field: EVIL}))

    assert result.outcome is Outcome.PERMANENT
    assert not result.suppress
    reason = result.reason or ""
    assert field in reason
    assert "Evil" not in reason and "x@example.com" not in reason
    assert harness.delivered() == []
    # And the message that follows goes out with exactly the headers it should have.
    assert (await harness.channel.send(email("k:after"))).outcome is Outcome.ACCEPTED
    [got] = harness.delivered()
    assert "Bcc" not in got.headers


@pytest.mark.parametrize("harness", ALL_ADAPTERS, indirect=True)
async def test_an_idempotency_key_never_smuggles_a_header(harness: Harness) -> None:
    """Keys are built from ids that may come from imported data, and HTTP adapters put
    them in a header: such a key is refused, or travels only where it is harmless."""
    result = await harness.channel.send(message_for(harness, "c1\r\nX-Evil: 1"))

    if result.outcome is Outcome.PERMANENT:
        assert "idempotency_key" in (result.reason or "")
        assert harness.delivered() == []
    else:
        assert result.outcome is Outcome.ACCEPTED, result.reason
        [got] = harness.delivered()
        assert "X-Evil" not in got.headers
    server = getattr(harness, "server", None)
    if isinstance(server, SMSProviderServer):
        assert all("X-Evil" not in r.headers for r in server.requests)


def test_check_header_value_names_the_header_not_the_value() -> None:
    with pytest.raises(HeaderInjectionError, match="'Subject'") as caught:
        check_header_value("Subject", "secret\r\nBcc: x@example.com")
    assert "secret" not in str(caught.value)
    assert isinstance(caught.value, ValueError)


# --- outcomes --------------------------------------------------------------------------


@pytest.mark.parametrize("harness", adapters_with(REFUSES), indirect=True)
async def test_transient_refusal_is_transient(harness: Harness) -> None:
    harness.refuse_next(Refusal.TRANSIENT)
    result = await harness.channel.send(message_for(harness))

    assert result.outcome is Outcome.TRANSIENT
    assert not result.suppress
    assert result.reason
    assert harness.delivered() == []


@pytest.mark.parametrize("harness", adapters_with(REFUSES), indirect=True)
async def test_bad_address_is_permanent_and_suppressed(harness: Harness) -> None:
    harness.refuse_next(Refusal.BAD_ADDRESS)
    result = await harness.channel.send(message_for(harness))

    assert result.outcome is Outcome.PERMANENT
    assert result.suppress


@pytest.mark.parametrize("harness", adapters_with(REFUSES), indirect=True)
async def test_other_permanent_refusal_keeps_the_address(harness: Harness) -> None:
    harness.refuse_next(Refusal.PERMANENT)
    result = await harness.channel.send(message_for(harness))

    assert result.outcome is Outcome.PERMANENT
    assert not result.suppress


@pytest.mark.parametrize("refusal", list(Refusal))
@pytest.mark.parametrize("harness", adapters_with(REFUSES), indirect=True)
async def test_the_next_message_goes_through_after_a_refusal(
    harness: Harness, refusal: Refusal
) -> None:
    harness.refuse_next(refusal)
    await harness.channel.send(message_for(harness, "k:1"))
    result = await harness.channel.send(message_for(harness, "k:2"))

    assert result.outcome is Outcome.ACCEPTED, result.reason
    assert len(harness.delivered()) == 1


@pytest.mark.parametrize("harness", adapters_with(ONE_KIND), indirect=True)
async def test_a_kind_it_cannot_carry_is_permanent(harness: Harness) -> None:
    missing = {"email", "sms"} - harness.channel.kinds
    assert missing
    message = email() if "email" in missing else sms()
    result = await harness.channel.send(message)

    assert result.outcome is Outcome.PERMANENT
    assert not result.suppress


# --- connections -----------------------------------------------------------------------


@pytest.mark.parametrize("harness", adapters_with(CONNECTION), indirect=True)
async def test_one_connection_carries_many_messages(harness: Harness) -> None:
    for n in range(5):
        result = await harness.channel.send(message_for(harness, f"k:{n}"))
        assert result.outcome is Outcome.ACCEPTED, result.reason

    assert len(harness.delivered()) == 5
    assert harness.connections() == 1


@pytest.mark.parametrize("harness", ALL_ADAPTERS, indirect=True)
async def test_aclose_is_idempotent_and_send_reopens(harness: Harness) -> None:
    await harness.channel.send(message_for(harness, "k:1"))
    await harness.channel.aclose()
    await harness.channel.aclose()
    result = await harness.channel.send(message_for(harness, "k:2"))

    assert result.outcome is Outcome.ACCEPTED, result.reason


# --- privacy -----------------------------------------------------------------------------


@pytest.mark.parametrize("harness", ALL_ADAPTERS, indirect=True)
async def test_logs_and_reasons_carry_no_personal_data(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="rapport")
    results = []
    for refusal in Refusal if REFUSES in CAPABILITIES[harness.name] else ():
        harness.refuse_next(refusal)
        results.append(await harness.channel.send(message_for(harness, f"r:{refusal.name}")))
    results.append(await harness.channel.send(message_for(harness, "ok")))
    results.append(await harness.channel.send(email(subject="x\r\nBcc: a@example.com")))

    ours = [r.getMessage() for r in caplog.records if r.name.startswith("rapport")]
    reasons = [r.reason or "" for r in results]
    for text in ours + reasons:
        for personal in (ADDRESS, PHONE, "مریم", "example.com"):
            assert personal not in text


# --- registry and public surface ----------------------------------------------------------


BUILT_INS = ["smtp", "file", "console", "http_sms", "twilio", "webhook"]


@pytest.mark.parametrize("name", BUILT_INS)
def test_registry_finds_every_built_in(name: str) -> None:
    cls = adapter_class(name)

    assert issubclass(cls, Channel)
    assert cls.name == name
    assert name in adapter_names()


def test_registry_names_the_known_adapters_for_an_unknown_one() -> None:
    with pytest.raises(UnknownAdapterError) as caught:
        adapter_class("carrier_pigeon")

    assert isinstance(caught.value, LookupError)
    assert "carrier_pigeon" in str(caught.value)
    assert set(BUILT_INS) <= set(caught.value.known)
    assert "smtp" in str(caught.value)


def test_build_channel_ignores_routing_keys_and_resolves_paths(tmp_path: Path) -> None:
    options = {"adapter": "file", "kind": "email", "path": "outbox"}
    channel = build_channel("file", options, tmp_path)

    assert isinstance(channel, rapport.channels.FileChannel)
    assert channel.path == tmp_path / "outbox"


def test_build_channel_reports_bad_options(tmp_path: Path) -> None:
    with pytest.raises(rapport.channels.AdapterOptionsError, match="smtp"):
        build_channel("smtp", {"url": "smtp://h", "hots": "typo"}, tmp_path)
    with pytest.raises(rapport.channels.AdapterOptionsError, match="smtp://"):
        build_channel("smtp", {"url": "ftp://h"}, tmp_path)


SECRET = "S3CRET-value"
SECRET_OPTIONS: dict[str, dict[str, object]] = {
    "smtp": {"url": f"smtps://shop:{SECRET}@mail.example:465"},
    "http_sms": {"url": f"https://sms.example/send?api_key={SECRET}", "token": SECRET},
    "twilio": {
        "account_sid": "AC0123456789abcdef0123456789abcdef",
        "auth_token": SECRET,
        "from_number": "+15550100",
    },
    "webhook": {
        "url": f"https://hook:{SECRET}@hooks.example/in?token={SECRET}",
        "secret": SECRET,
        "token": SECRET,
    },
}


@pytest.mark.parametrize("name", SECRET_OPTIONS)
def test_configured_secrets_never_show_when_a_channel_is_printed(name: str, tmp_path: Path) -> None:
    channel = build_channel(name, SECRET_OPTIONS[name], tmp_path)

    for text in (repr(channel), str(channel), f"{channel}", f"{channel!r}"):
        assert SECRET not in text
        assert "***" in text
    assert SECRET in str(channel.options()), "options() itself keeps the real values"


def test_the_public_surface_is_pinned() -> None:
    assert sorted(rapport.channels.__all__) == [
        "AdapterOptionsError",
        "Channel",
        "ConsoleChannel",
        "FileChannel",
        "HTTPSMSChannel",
        "HTTPSMSURLError",
        "HeaderInjectionError",
        "InvalidAdapterError",
        "InvalidAddressError",
        "MessageFormatError",
        "Outcome",
        "OutgoingMessage",
        "RecordingChannel",
        "SMTPChannel",
        "SMTPURLError",
        "SendResult",
        "TwilioSMSChannel",
        "UnknownAdapterError",
        "WebhookChannel",
        "WebhookURLError",
        "adapter_class",
        "adapter_names",
        "build_channel",
        "build_email",
        "check_header_value",
        "message_id_for",
        "redact_options",
        "redact_url",
    ]
    for name in rapport.channels.__all__:
        assert getattr(rapport.channels, name) is not None
