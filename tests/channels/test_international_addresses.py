"""International mailboxes (SMTPUTF8) and bidi controls at the header boundary.

A real aiosmtpd server on loopback, once offering SMTPUTF8 and once not: the adapter
sends ``josé@...`` with the SMTPUTF8 parameter where it is offered, refuses clearly
(before MAIL FROM) where it is not, and refuses before connecting unless configured
with ``smtputf8: true``. Every header built (Subject, To and From display names,
extra headers) is free of the bidirectional controls, while Persian and Chinese text,
the Persian zero-width non-joiner included, passes unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from channel_servers import SMTPSink, free_port
from email_validator import validate_email

from rapport.channels import InvalidAddressError, Outcome, OutgoingMessage, SMTPChannel
from rapport.channels.file import FileChannel
from rapport.channels.mime import (
    BIDI_CONTROLS,
    build_email,
    envelope_address,
    needs_smtputf8,
    strip_bidi_controls,
)

SENDER = "Shop <shop@example.com>"
#: A Persian family name written, as it should be, with a zero-width non-joiner.
PERSIAN = "مریم نوری\u200cزاده"
CHINESE = "客户关系维护策略"  # from the Chinese seed text
OVERRIDE = "\u202e"
EVERY_BIDI = "".join(sorted(BIDI_CONTROLS))


def mail(key: str = "c1:birthday:2025:email", **changes: Any) -> OutgoingMessage:
    fields: dict[str, Any] = {
        "idempotency_key": key,
        "kind": "email",
        "to": "josé@example.com",
        "subject": "تولدتان مبارک",
        "text": "سلام\n",
    }
    fields.update(changes)
    return OutgoingMessage(**fields)


def parsed(data: bytes) -> EmailMessage:
    """The message as a mail client reads it; UTF-8 headers (RFC 6532) decoded."""
    message = Parser(policy=policy.default).parsestr(data.decode("utf-8"))
    assert isinstance(message, EmailMessage)
    return message


def smtp_server(smtputf8: bool) -> Iterator[tuple[SMTPSink, str]]:
    sink = SMTPSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=smtputf8)
    controller.start()
    try:
        yield sink, f"smtp://127.0.0.1:{controller.port}?starttls=0"
    finally:
        controller.stop()


@pytest.fixture
def utf8_server() -> Iterator[tuple[SMTPSink, str]]:
    """An SMTP server on loopback that offers SMTPUTF8 in its EHLO reply."""
    yield from smtp_server(True)


@pytest.fixture
def ascii_server() -> Iterator[tuple[SMTPSink, str]]:
    """An SMTP server on loopback that does not offer SMTPUTF8 (aiosmtpd's default)."""
    yield from smtp_server(False)


# --- SMTPUTF8 over a real server ---------------------------------------------------------


async def test_a_server_offering_smtputf8_receives_a_non_ascii_mailbox(
    utf8_server: tuple[SMTPSink, str],
) -> None:
    sink, url = utf8_server
    async with SMTPChannel(url, sender=SENDER, smtputf8=True) as channel:
        result = await channel.send(mail(to="josé@bücher.example", to_name=PERSIAN))
        plain = await channel.send(mail("c2:birthday:2025:email", to="sara@example.com"))

    assert result.outcome is Outcome.ACCEPTED, result.reason
    assert plain.outcome is Outcome.ACCEPTED, plain.reason
    # The recipient travels as written before the @, with the domain as an A-label;
    # only the message that needs it asks for SMTPUTF8.
    assert sink.envelopes == [
        ("shop@example.com", ["josé@xn--bcher-kva.example"]),
        ("shop@example.com", ["sara@example.com"]),
    ]
    assert "SMTPUTF8" in sink.mail_options[0] and "SMTPUTF8" not in sink.mail_options[1]
    delivered = parsed(sink.messages[0])
    (to,) = delivered["To"].addresses
    assert (to.addr_spec, to.display_name) == ("josé@xn--bcher-kva.example", PERSIAN)
    assert str(delivered["Subject"]) == "تولدتان مبارک"
    assert sink.messages[1].isascii()


async def test_a_chinese_mailbox_reaches_a_server_offering_smtputf8(
    utf8_server: tuple[SMTPSink, str],
) -> None:
    sink, url = utf8_server
    async with SMTPChannel(url, sender=SENDER, smtputf8=True) as channel:
        result = await channel.send(mail(to="用户@例子.广告", subject=CHINESE))

    assert result.outcome is Outcome.ACCEPTED, result.reason
    (rcpt,) = sink.envelopes[0][1]
    assert rcpt.startswith("用户@xn--")
    assert str(parsed(sink.messages[0])["Subject"]) == CHINESE


async def test_a_server_without_smtputf8_gets_a_clear_refusal_and_nothing_else(
    ascii_server: tuple[SMTPSink, str],
) -> None:
    sink, url = ascii_server
    async with SMTPChannel(url, sender=SENDER, smtputf8=True) as channel:
        refused = await channel.send(mail())
        after = await channel.send(mail("c2:birthday:2025:email", to="sara@example.com"))

    assert (refused.outcome, refused.suppress) == (Outcome.PERMANENT, False)
    assert "SMTPUTF8" in (refused.reason or "") and "does not offer" in (refused.reason or "")
    assert "josé" not in (refused.reason or "")  # reasons never quote the address
    # No MAIL FROM for the refused message; the next one goes through as usual.
    assert after.outcome is Outcome.ACCEPTED, after.reason
    assert sink.envelopes == [("shop@example.com", ["sara@example.com"])]
    assert len(sink.mail_options) == 1 and "SMTPUTF8" not in sink.mail_options[0]


async def test_without_smtputf8_configured_a_non_ascii_mailbox_is_refused_before_connecting(
    utf8_server: tuple[SMTPSink, str],
) -> None:
    sink, url = utf8_server
    async with SMTPChannel(url, sender=SENDER) as channel:
        result = await channel.send(mail(to="用户@example.com"))

    assert (result.outcome, result.suppress) == (Outcome.PERMANENT, False)
    assert sink.connections == 0 and sink.messages == []


def test_only_an_smtp_channel_configured_with_smtputf8_takes_utf8_mailboxes() -> None:
    assert SMTPChannel.carries_utf8_mailboxes({"url": "smtp://h", "smtputf8": True})
    assert not SMTPChannel.carries_utf8_mailboxes({"url": "smtp://h"})
    assert not SMTPChannel.carries_utf8_mailboxes({"url": "smtp://h", "smtputf8": "yes"})
    assert FileChannel.carries_utf8_mailboxes({"path": "outbox"})
    assert SMTPChannel("smtp://h", smtputf8=True).options()["smtputf8"] is True


# --- addresses in the MIME writer --------------------------------------------------------


def test_a_non_ascii_mailbox_needs_smtputf8_but_a_non_ascii_domain_does_not() -> None:
    assert envelope_address("josé@bücher.example", smtputf8=True) == "josé@xn--bcher-kva.example"
    assert needs_smtputf8(envelope_address("josé@example.com", smtputf8=True))
    assert not needs_smtputf8(envelope_address("jose@bücher.example"))
    with pytest.raises(InvalidAddressError):
        envelope_address("josé@example.com")
    # Without smtputf8 the bytes are ASCII, as before; with it only the address differs.
    assert build_email(mail(to="jose@example.com"), SENDER).isascii()
    utf8 = build_email(mail(), SENDER, smtputf8=True)
    assert b"To: jos\xc3\xa9@example.com\r\n" in utf8
    assert utf8.replace("é".encode(), b"e") == build_email(mail(to="jose@example.com"), SENDER)


@pytest.mark.parametrize(
    "domain", ["straße.de", "βόλος.com", "faß.de", "ÖBB.at", "例子.广告", "ｅxample.com"]
)
def test_a_non_ascii_domain_goes_to_the_a_label_the_import_checked(domain: str) -> None:
    """IDNA 2008 + UTS 46, as email-validator: Python's IDNA 2003 codec would send
    straße.de to strasse.de, someone else's domain."""
    checked = validate_email(f"x@{domain}", check_deliverability=False)
    sent = envelope_address(checked.normalized)
    assert sent == f"x@{checked.ascii_domain}"


def test_strasse_is_not_straße() -> None:
    assert envelope_address("x@straße.de") == "x@xn--strae-oqa.de"
    assert envelope_address("x@strasse.de") == "x@strasse.de"


@pytest.mark.parametrize(
    "to",
    [
        "jo\u202esé@example.com",  # an override inside the mailbox
        "jo\u200esé@example.com",  # a direction mark
        "jo sé@example.com",
        '"jo sé"@example.com',
        "josé\u00a0@example.com",  # a no-break space
        "josé@",
        "josé..x@example.com",
    ],
)
def test_a_utf8_mailbox_must_be_a_printable_dot_atom(to: str) -> None:
    with pytest.raises(InvalidAddressError):
        build_email(mail(to=to), SENDER, smtputf8=True)


# --- bidi controls never reach a header -------------------------------------------------


def test_headers_of_a_message_to_a_name_with_an_override_hold_no_bidi_control() -> None:
    message = mail(
        to="maryam@example.com",
        to_name=f"{OVERRIDE}مریم{EVERY_BIDI} Karimi",
        subject=f"Happy birthday, {OVERRIDE}مریم {EVERY_BIDI}!",
        sender=f"Shop{OVERRIDE} 2026 <shop@example.com>",
        headers={"X-Campaign": f"birthday{OVERRIDE}"},
    )
    data = build_email(message, SENDER)
    head = data.split(b"\r\n\r\n", 1)[0]
    delivered = parsed(data)
    decoded = {name: str(value) for name, value in delivered.items()}
    for name, value in decoded.items():
        assert not BIDI_CONTROLS & set(value), name
    assert not any(char.encode() in head for char in BIDI_CONTROLS)
    (to,) = delivered["To"].addresses
    assert to.display_name == "مریم Karimi"
    assert decoded["Subject"] == "Happy birthday, مریم !"
    assert delivered["From"].addresses[0].display_name == "Shop 2026"
    assert decoded["X-Campaign"] == "birthday"


@pytest.mark.parametrize("name", [PERSIAN, "王娜", "Zoë O'Brien", "سارا‌ رضایی (VIP)"])
def test_persian_and_chinese_names_and_subjects_pass_unchanged(name: str) -> None:
    assert strip_bidi_controls(name) == name
    delivered = parsed(
        build_email(mail(to_name=name, subject=f"{name} {CHINESE}"), SENDER, smtputf8=True)
    )
    assert delivered["To"].addresses[0].display_name == name
    assert str(delivered["Subject"]) == f"{name} {CHINESE}"
    assert "\u200c" in PERSIAN  # the non-joiner is really there, and kept


async def test_an_smtp_server_receives_no_bidi_control_in_any_header(
    utf8_server: tuple[SMTPSink, str],
) -> None:
    sink, url = utf8_server
    async with SMTPChannel(url, sender=SENDER, smtputf8=True) as channel:
        result = await channel.send(
            mail(to_name=f"{OVERRIDE}txt.exe", subject=f"{OVERRIDE}فاکتور {CHINESE}")
        )

    assert result.outcome is Outcome.ACCEPTED, result.reason
    delivered = parsed(sink.messages[0])
    assert delivered["To"].addresses[0].display_name == "txt.exe"
    assert str(delivered["Subject"]) == f"فاکتور {CHINESE}"
    assert all(not BIDI_CONTROLS & set(str(value)) for value in delivered.values())


# --- the file channel ---------------------------------------------------------------------


async def test_the_file_channel_writes_a_utf8_mailbox_and_erases_messages_by_key(
    tmp_path: Path,
) -> None:
    channel = FileChannel(tmp_path / "outbox", sender=SENDER)
    email = mail("c1:birthday:2025:email", to_name=PERSIAN)
    sms = OutgoingMessage(
        idempotency_key="c1:offers:2025:sms", kind="sms", to="+989121234567", text="سلام"
    )
    other = mail("c2:birthday:2025:email", to="sara@example.com")
    for message in (email, sms, other):
        assert (await channel.send(message)).outcome is Outcome.ACCEPTED

    written = parsed(channel.file_for(email).read_bytes())
    assert written["To"].addresses[0].addr_spec == "josé@example.com"

    removed = channel.erase_messages(
        [email.idempotency_key, sms.idempotency_key, "c1:none:x:email"]
    )
    assert removed == 2
    assert sorted(path.name for path in (tmp_path / "outbox").iterdir()) == [
        channel.file_for(other).name
    ]
