"""DKIM signing in the SMTP adapter, verified with dkimpy against the published key."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import dkim
import pytest
from channel_harness import parse_email
from channel_servers import SMTPServer
from tls_material import DKIMKey

from rapport.channels import AdapterOptionsError, Outcome, OutgoingMessage, SMTPChannel
from rapport.channels import build_channel as build
from rapport.channels.dkim_signer import OVERSIGNED_HEADERS, DKIMSigner, header_names

SELECTOR, DOMAIN = "rapport2025", "shop.example"
UNSUBSCRIBE = {
    "List-Unsubscribe": "<https://shop.example/u/tok3n>, <mailto:unsub@shop.example>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}
MAIL = OutgoingMessage(
    idempotency_key="c1:birthday:2025-03-01:email",
    kind="email",
    to="maryam@example.com",
    to_name="مریم احمدی",
    subject="تولدت مبارک «مریم»",
    text="سلام مریم،\nتولدت مبارک!\n",
    html="<p dir='rtl'>تولدت مبارک</p>",
    headers=UNSUBSCRIBE,
    sender="Shop <shop@shop.example>",
)


def dns_for(key: DKIMKey) -> Any:
    """A dnsfunc for dkimpy that publishes ``key`` at ``rapport2025._domainkey``."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return key.dns_record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    return lookup


def signed_headers(data: bytes) -> list[str]:
    """The ``h=`` tag of the DKIM-Signature, as a list of lower-case names."""
    signature = BytesParser(policy=policy.compat32).parsebytes(data)["DKIM-Signature"]
    tags = dict(
        part.strip().split("=", 1) for part in re.sub(r"\s+", "", signature).split(";") if part
    )
    return tags["h"].lower().split(":")


@pytest.fixture
async def delivered(smtp_server: SMTPServer, dkim_key: DKIMKey) -> bytes:
    """MAIL sent through a DKIM-signing SMTP channel, as the server received it."""
    channel = SMTPChannel(
        smtp_server.url,
        dkim_selector=SELECTOR,
        dkim_domain=DOMAIN,
        dkim_private_key_path=dkim_key.private_key_file,
    )
    async with channel:
        result = await channel.send(MAIL)
    assert result.outcome is Outcome.ACCEPTED, result.reason
    [data] = smtp_server.sink.messages
    return data


async def test_the_received_message_verifies(delivered: bytes, dkim_key: DKIMKey) -> None:
    assert delivered.startswith(b"DKIM-Signature: ")
    assert dkim.verify(delivered, dnsfunc=dns_for(dkim_key))
    # and it is still the message that was sent
    got = parse_email(delivered)
    assert (got.to, got.subject, got.to_name) == (MAIL.to, MAIL.subject, MAIL.to_name)


async def test_the_signature_covers_identity_and_one_click_unsubscribe(delivered: bytes) -> None:
    names = signed_headers(delivered)

    for name in ("from", "to", "subject", "date", "message-id", "mime-version", "content-type"):
        assert name in names
    assert "list-unsubscribe" in names
    assert "list-unsubscribe-post" in names
    for name in ("from", "list-unsubscribe", "list-unsubscribe-post"):
        assert names.count(name) == 2, f"{name} is over-signed"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d.replace(b"u/tok3n", b"u/other"),
        lambda d: d.replace(b"List-Unsubscribe-Post: ", b"X-Was-Post: "),
        lambda d: d.replace(
            b"\r\n\r\n", b"\r\nList-Unsubscribe: <https://evil.example/>\r\n\r\n", 1
        ),
        lambda d: d.replace(b"\r\n\r\n", b"\r\nFrom: ceo@shop.example\r\n\r\n", 1),
    ],
    ids=["changed-url", "dropped-post", "added-unsubscribe", "added-from"],
)
async def test_tampering_with_signed_headers_breaks_the_signature(
    delivered: bytes, dkim_key: DKIMKey, tamper: Any
) -> None:
    tampered = tamper(delivered)

    assert tampered != delivered
    assert not dkim.verify(tampered, dnsfunc=dns_for(dkim_key))


def test_the_signer_signs_what_it_is_given(dkim_key: DKIMKey) -> None:
    signer = DKIMSigner.from_file(SELECTOR, DOMAIN, dkim_key.private_key_file)
    data = b"From: a@shop.example\r\nTo: b@example.com\r\nX-Campaign: birthday\r\n\r\nHi\r\n"
    signed = signer.sign(data)

    assert dkim.verify(signed, dnsfunc=dns_for(dkim_key))
    names = signed_headers(signed)
    assert "x-campaign" in names
    assert set(OVERSIGNED_HEADERS) <= set(names)
    assert signed.endswith(data)


def test_header_names_keeps_order_and_skips_folded_lines() -> None:
    data = b"From: a\r\nSubject: long\r\n folded\r\nTo: b\r\nto: c\r\n\r\nBody: not a header\r\n"

    assert header_names(data) == ["from", "subject", "to", "to"]


def test_dkim_options_come_together_and_paths_resolve(dkim_key: DKIMKey, tmp_path: Path) -> None:
    base = dkim_key.private_key_file.parent
    options = {
        "url": "smtp://h",
        "dkim_selector": SELECTOR,
        "dkim_domain": DOMAIN,
        "dkim_private_key_path": dkim_key.private_key_file.name,
    }
    channel = build("smtp", options, base)

    assert isinstance(channel, SMTPChannel) and channel.dkim is not None
    assert channel.dkim_private_key_path == str(dkim_key.private_key_file)
    assert "dkim_selector='rapport2025'" in repr(channel)
    with pytest.raises(AdapterOptionsError, match="together"):
        build("smtp", {"url": "smtp://h", "dkim_selector": SELECTOR}, base)
    with pytest.raises(AdapterOptionsError, match="cannot read"):
        build("smtp", {**options, "dkim_private_key_path": "missing.pem"}, tmp_path)
    with pytest.raises(AdapterOptionsError, match="dkim_domain"):
        build("smtp", {**options, "dkim_domain": "shop.example; x=y"}, base)


def test_a_file_that_is_no_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    bogus = tmp_path / "key.pem"
    bogus.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")

    with pytest.raises(ValueError, match="not a PEM RSA key") as caught:
        DKIMSigner.from_file(SELECTOR, DOMAIN, bogus)
    assert "bm90IGEga2V5" not in str(caught.value)


async def test_without_dkim_options_nothing_is_signed(smtp_server: SMTPServer) -> None:
    async with SMTPChannel(smtp_server.url) as channel:
        await channel.send(MAIL)

    assert b"DKIM-Signature" not in smtp_server.sink.messages[0]


def test_an_international_dkim_domain_signs_as_its_a_label(dkim_key: DKIMKey) -> None:
    """config.yaml's dkim_domain: bücher.example stopped every dispatcher ('dkim_domain
    must be ASCII letters, ...'); d= is the A-label (RFC 6376 3.5), under which the
    key's TXT record is published."""
    signer = DKIMSigner(SELECTOR, "bücher.example", dkim_key.private_key_file.read_bytes())
    signed = signer.sign(b"From: a@xn--bcher-kva.example\r\nSubject: hi\r\n\r\nhi\r\n")

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        wanted = f"{SELECTOR}._domainkey.xn--bcher-kva.example.".encode()
        return dkim_key.dns_record if name == wanted else None

    assert b"d=xn--bcher-kva.example;" in signed
    assert dkim.verify(signed, dnsfunc=lookup)
