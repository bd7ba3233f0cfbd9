"""MIME building: wire format, Message-IDs, addresses, and the header checks."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest

from rapport.channels import (
    HeaderInjectionError,
    InvalidAddressError,
    MessageFormatError,
    OutgoingMessage,
    build_email,
    message_id_for,
)
from rapport.channels.mime import envelope_address, message_id_of

SENDER = "Shop <shop@example.com>"


def mail(**changes: object) -> OutgoingMessage:
    fields: dict[str, object] = {
        "idempotency_key": "c1:birthday:2025-03-01:email",
        "kind": "email",
        "to": "maryam@example.com",
        "subject": "تولدت مبارک",
        "text": "سلام\n「生日快乐」\n",
    }
    fields.update(changes)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def test_wire_format_is_crlf_and_7bit() -> None:
    data = build_email(mail(html="<p>「生日快乐」</p>"), SENDER)

    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data.isascii(), "non-ASCII must travel encoded, needing no 8BITMIME"


def test_text_only_is_text_plain_and_html_adds_an_alternative() -> None:
    parse = BytesParser(policy=policy.default).parsebytes
    plain = parse(build_email(mail(), SENDER))
    both = parse(build_email(mail(html="<p>hi</p>"), SENDER))

    assert plain.get_content_type() == "text/plain"
    assert both.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in both.iter_parts()] == ["text/plain", "text/html"]


def test_headers_are_set() -> None:
    when = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    parsed = BytesParser(policy=policy.default).parsebytes(
        build_email(mail(to_name="مریم"), SENDER, date=when, message_id_domain="shop.example")
    )

    assert str(parsed["From"]) == SENDER
    assert parsed["To"].addresses[0].display_name == "مریم"
    assert str(parsed["Subject"]) == "تولدت مبارک"
    assert parsed["Date"].datetime == when
    assert str(parsed["Message-ID"]) == message_id_for(
        "c1:birthday:2025-03-01:email", "shop.example"
    )


def test_message_id_is_deterministic_and_well_formed() -> None:
    first = message_id_for("c1:birthday:2025-03-01:email")

    assert first == message_id_for("c1:birthday:2025-03-01:email")
    assert first != message_id_for("c1:birthday:2026-03-01:email")
    assert re.fullmatch(r"<[0-9a-f]{32}@rapport\.invalid>", first)


@pytest.mark.parametrize("given", ["abc@shop.example", "<abc@shop.example>", " <abc@shop.example>"])
def test_an_explicit_message_id_gets_angle_brackets(given: str) -> None:
    assert message_id_of(mail(message_id=given)) == "<abc@shop.example>"


def test_extra_headers_may_not_replace_core_headers() -> None:
    with pytest.raises(MessageFormatError) as caught:
        build_email(mail(headers={"Bcc": "everyone@example.com"}), SENDER)
    assert not isinstance(caught.value, HeaderInjectionError)


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "a\rb"},
        {"subject": "a\nb"},
        {"subject": "a\x00b"},
        {"to": "a@example.com\nBcc: b@example.com"},
        {"to_name": "A\r\n"},
        {"sender": "s@example.com\r\nBcc: b@example.com"},
        {"headers": {"X-Campaign": "a\r\nBcc: b@example.com"}},
        {"headers": {"X-Campaign\r\nBcc": "b@example.com"}},
        {"headers": {"X Campaign": "b"}},
        {"headers": {"X-Campaign:Bcc": "b"}},
    ],
)
def test_header_injection_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(HeaderInjectionError):
        build_email(mail(**changes), SENDER)


def test_an_unsafe_default_sender_is_refused() -> None:
    with pytest.raises(HeaderInjectionError):
        build_email(mail(), "s@example.com\r\nBcc: b@example.com")


@pytest.mark.parametrize(
    "to", ["مریم@example.com", "not an address", "", "a@example.com, b@example.com", "<a@b.c>"]
)
def test_addresses_email_cannot_carry_are_refused(to: str) -> None:
    with pytest.raises(InvalidAddressError) as caught:
        build_email(mail(to=to), SENDER)
    if to:
        assert to not in str(caught.value)


def test_internationalized_domains_travel_as_punycode() -> None:
    data = build_email(mail(to="maryam@bücher.example"), "Shop <shop@bücher.example>")

    assert b"To: maryam@xn--bcher-kva.example" in data
    assert b"From: Shop <shop@xn--bcher-kva.example>" in data
    assert envelope_address("Shop <shop@bücher.example>") == "shop@xn--bcher-kva.example"
