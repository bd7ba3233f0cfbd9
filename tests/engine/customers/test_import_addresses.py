"""Import refuses what the configured e-mail channels could never send or show safely.

* A local part (before the @) that is not ASCII (``josé@``, ``用户@``) is refused,
  with the row and the field, unless some configured e-mail channel can send to it:
  the file channel always can, SMTP when configured with ``smtputf8: true``.
* A local part that NFKC would change (full-width ``ａ@``, a ligature) is always
  refused, never folded: the mailbox is not guessed.
* Names holding bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E/F,
  U+061C) are refused; Persian names with the zero-width non-joiner and Chinese names
  are stored unchanged.

The valid rows of the same file are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from rapport.engine.core.config import ChannelConfig, Settings
from rapport.engine.customers import fields
from rapport.engine.customers.fields import FieldInvalid
from rapport.engine.customers.importer import import_file
from tests.engine.customers.conftest import (
    CUSTOMER_COLUMNS,
    NOW,
    SARA,
    TODAY,
    WANG,
    customers,
    write,
)

SMTP = ChannelConfig(adapter="smtp", kind="email", url="smtp://127.0.0.1:2525")
SMTP_UTF8 = ChannelConfig(adapter="smtp", kind="email", url="smtp://127.0.0.1:2525", smtputf8=True)
FILE = ChannelConfig(adapter="file", kind="email", path="outbox")
SMS = ChannelConfig(adapter="file", kind="sms", path="outbox")
#: A Persian family name written with the zero-width non-joiner, as it should be.
NOURIZADEH = "نوری\u200cزاده"


def settings_with(email: ChannelConfig) -> Settings:
    return Settings(channels={"email": email, "sms": SMS})


def person(number: int, **changes: str) -> dict[str, Any]:
    row = {**SARA, "id": f"c-{number}", "email": f"p{number}@example.com", "phone": ""}
    row.update(changes)
    return row


ROWS = [
    person(1, last_name=NOURIZADEH),  # line 2: kept, the non-joiner intact
    person(2, email="josé@example.com"),  # line 3: needs SMTPUTF8
    person(3, email="ａ@example.com"),  # line 4: full-width a
    person(4, email="a@ｅxample.com"),  # line 5: full-width domain: IDNA maps it
    person(5, email="maryam@bücher.example"),  # line 6: a non-ASCII domain is fine
    person(6, first_name="مریم\u202e"),  # line 7: right-to-left override
    person(7, last_name="\u200fکریمی"),  # line 8: right-to-left mark
    person(8, first_name="\u2067Ali\u2069"),  # line 9: an isolate pair
    {**WANG, "email": "用户@例子.广告"},  # line 10: Chinese mailbox and domain
    person(9, email="ﬁona@example.com"),  # line 11: the "fi" ligature
]


def run_import(engine: Engine, tmp_path: Path, config: Settings) -> Any:
    path = write(tmp_path / "customers.csv", CUSTOMER_COLUMNS, ROWS)
    return import_file(engine, config, "customers", path, clock=lambda: NOW, today=TODAY)


def test_without_smtputf8_every_address_smtp_cannot_send_is_refused_with_row_and_field(
    engine: Engine, tmp_path: Path
) -> None:
    report = run_import(engine, tmp_path, settings_with(SMTP))

    refused = {(p.line, p.field): p.message for p in report.problems}
    assert set(refused) == {
        (3, "email"),
        (4, "email"),
        (7, "first_name"),
        (8, "last_name"),
        (9, "first_name"),
        (10, "email"),
        (11, "email"),
    }
    assert "not ASCII" in refused[(3, "email")] and "smtputf8" in refused[(3, "email")]
    assert "full-width" in refused[(4, "email")] and "not guessed" in refused[(4, "email")]
    assert "U+202E" in refused[(7, "first_name")] and "override" in refused[(7, "first_name")]
    assert "U+200F" in refused[(8, "last_name")] and "mark" in refused[(8, "last_name")]
    assert "U+2067" in refused[(9, "first_name")]
    assert all("josé" not in message and "مریم" not in message for message in refused.values())
    assert (report.accepted, report.rejected) == (3, 7)

    stored = customers(engine)
    assert set(stored) == {"c-1", "c-4", "c-5"}
    assert stored["c-1"].last_name == NOURIZADEH  # unchanged, non-joiner and all
    assert stored["c-4"].email == "a@example.com"
    assert stored["c-5"].email == "maryam@bücher.example"


def test_an_smtp_channel_whose_server_offers_smtputf8_takes_international_mailboxes(
    engine: Engine, tmp_path: Path
) -> None:
    report = run_import(engine, tmp_path, settings_with(SMTP_UTF8))

    assert {(p.line, p.field) for p in report.problems} == {
        (4, "email"),  # full-width: refused whatever the channel
        (7, "first_name"),
        (8, "last_name"),
        (9, "first_name"),
        (11, "email"),  # the ligature too
    }
    stored = customers(engine)
    assert stored["c-2"].email == "josé@example.com"
    assert stored[WANG["id"]].email == "用户@例子.广告"
    assert (stored[WANG["id"]].first_name, stored[WANG["id"]].last_name) == ("娜", "王")


def test_a_failover_channel_takes_them_only_if_every_provider_can() -> None:
    mixed = ChannelConfig(
        providers=[
            {"adapter": "smtp", "url": "smtp://a", "smtputf8": True},
            {"adapter": "smtp", "url": "smtp://b"},
        ],
        kind="email",
    )
    both = ChannelConfig(
        providers=[
            {"adapter": "smtp", "url": "smtp://a", "smtputf8": True},
            {"adapter": "file", "path": "outbox"},
        ],
        kind="email",
    )
    assert not fields.utf8_mailboxes(settings_with(mixed))
    assert fields.utf8_mailboxes(settings_with(both))
    assert fields.utf8_mailboxes(settings_with(FILE))  # the default dev configuration
    assert fields.utf8_mailboxes(Settings())
    # An SMS channel that could "carry" anything does not count for e-mail.
    only_sms = Settings(channels={"email": SMTP, "sms": SMS})
    assert not fields.utf8_mailboxes(only_sms)
    console = ChannelConfig(adapter="console", kind="email")
    assert not fields.utf8_mailboxes(settings_with(console))  # says nothing: cannot


@pytest.mark.parametrize(
    ("value", "utf8", "expected"),
    [
        ("Sara@Example.COM", False, "Sara@example.com"),
        ("user@bücher.de", False, "user@bücher.de"),
        ("a@ｅxample.com", False, "a@example.com"),
        ("josé@example.com", True, "josé@example.com"),
        ("jose\u0301@example.com", True, "josé@example.com"),  # NFC, as email-validator does
        ("用户@例子.广告", True, "用户@例子.广告"),
    ],
)
def test_sendable_email_keeps_what_a_channel_can_send(
    value: str, utf8: bool, expected: str
) -> None:
    assert fields.sendable_email(value, utf8_mailboxes=utf8) == expected


@pytest.mark.parametrize(
    ("value", "utf8", "words"),
    [
        ("josé@example.com", False, "not ASCII"),
        ("用户@例子.广告", False, "not ASCII"),
        ("ａ@example.com", True, "full-width"),
        ("ａｂｃ@example.com", False, "full-width"),
        ("x²@example.com", True, "compatibility"),
        ("mar\u202eyam@example.com", True, "not a valid e-mail address"),
    ],
)
def test_sendable_email_refuses_without_echoing_the_address(
    value: str, utf8: bool, words: str
) -> None:
    with pytest.raises(FieldInvalid) as caught:
        fields.sendable_email(value, "email", utf8_mailboxes=utf8)
    assert caught.value.field == "email" and words in caught.value.reason
    assert value.split("@")[0] not in caught.value.reason


@pytest.mark.parametrize("control", [chr(c) for c in range(0x202A, 0x202F)] + [
    "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c"
])  # fmt: skip
def test_every_bidi_control_in_a_name_is_refused(control: str) -> None:
    with pytest.raises(FieldInvalid) as caught:
        fields.name(f"سارا{control}", "first_name")
    assert f"U+{ord(control):04X}" in caught.value.reason


@pytest.mark.parametrize("value", [f"مریم {NOURIZADEH}", "王娜", "Zoë", "\u200dजय", "A\u200bB"])
def test_names_with_joiners_and_other_invisible_format_characters_pass(value: str) -> None:
    assert fields.name(value) == value
