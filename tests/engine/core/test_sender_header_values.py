"""The sender values that go into every e-mail's headers (From, Message-ID, the mailto
of List-Unsubscribe) are refused at their config.yaml line when no header can carry
them: 'from_address: "Shop <a@shop.org>\\nBcc: x@y.org"' loaded, `campaigns validate`
said all was valid, and every e-mail then failed for good at its send ("header 'From'
contains CR, LF or NUL"): a mistake in the file lost the day's messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import config_problems

from rapport.engine.core.config import load_settings


def problems(tmp_path: Path, key: str, value: str) -> list[str]:
    return config_problems(tmp_path, f"sender:\n  {key}: {value}\n")


@pytest.mark.parametrize(
    "value",
    [
        '"Shop <a@shop.org>\\nBcc: x@y.org"',
        '"Shop <a@shop.org>\\r"',
        '"Shop\\u0000 <a@shop.org>"',
    ],
)
def test_a_from_address_holding_a_line_break_or_control_is_refused(
    tmp_path: Path, value: str
) -> None:
    assert problems(tmp_path, "from_address", value) == [
        "2: sender.from_address: holds a line break or another control character, which "
        "no mail header may carry: write it on one line"
    ]


@pytest.mark.parametrize(
    "value", ['"@shop.org"', '"a@shop.org, b@shop.org"', '"Shop <a@shop..org>"']
)
def test_a_from_address_that_is_not_one_mailbox_is_refused(tmp_path: Path, value: str) -> None:
    text = value.strip('"')
    assert problems(tmp_path, "from_address", value) == [
        f"2: sender.from_address: {text!r} is not one e-mail address (write 'Shop "
        "<hello@shop.example>')"
    ]


@pytest.mark.parametrize(
    "value", ["Shop <hello@shop.org>", "hello@shop.org", '"\\"Shop, Ltd\\" <a@例子.中国>"']
)
def test_a_from_address_of_one_mailbox_is_taken(tmp_path: Path, value: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"sender:\n  from_address: {value}\n", encoding="utf-8")

    assert "@" in load_settings(config, environ={}).sender.from_address


@pytest.mark.parametrize("value", ['"shop org"', '"shop.org>"', '"a@shop.org"'])
def test_a_message_id_domain_that_is_no_host_name_is_refused(tmp_path: Path, value: str) -> None:
    text = value.strip('"')
    assert problems(tmp_path, "message_id_domain", value) == [
        f"2: sender.message_id_domain: {text!r} is not a domain name: every Message-ID ends "
        "in it (write the domain of sender.from_address, e.g. shop.example)"
    ]


@pytest.mark.parametrize(
    "value", ['"not-an-address"', '"u@shop.org?subject=x"', '"Shop <u@shop.org>"']
)
def test_an_unsubscribe_mailto_that_is_not_a_bare_address_is_refused(
    tmp_path: Path, value: str
) -> None:
    text = value.strip('"')
    assert problems(tmp_path, "unsubscribe_mailto", value) == [
        f"2: sender.unsubscribe_mailto: {text!r} is not an e-mail address: List-Unsubscribe "
        "carries it as mailto:ADDRESS (write e.g. unsubscribe@shop.example)"
    ]


SMTP = "channels:\n  email:\n    adapter: smtp\n    kind: email\n    url: smtp://127.0.0.1:2525\n"


def test_a_from_address_no_email_channel_can_send_is_refused(tmp_path: Path) -> None:
    """'Shop <josé@shop.example>' over SMTP without smtputf8 loaded, 'campaigns
    validate' said valid, and every e-mail then failed for good: "header 'From' holds
    an address that cannot be sent"."""
    [found] = config_problems(
        tmp_path, SMTP + 'sender:\n  from_address: "Shop <josé@shop.example>"\n'
    )

    assert found.startswith("7: sender.from_address: the part before @ is not ASCII")
    assert "channels.email" in found and "smtputf8: true" in found


@pytest.mark.parametrize(
    "channels", [SMTP + "    smtputf8: true\n", ""], ids=["smtp-with-smtputf8", "file"]
)
def test_a_from_address_with_a_non_ascii_local_part_is_taken_where_it_can_be_sent(
    tmp_path: Path, channels: str
) -> None:
    """smtputf8: true says the server offers SMTPUTF8; the shipped file channel writes
    UTF-8 as such a server would receive it."""
    config = tmp_path / "config.yaml"
    config.write_text(
        channels + 'sender:\n  from_address: "Shop <josé@shop.example>"\n', encoding="utf-8"
    )

    assert load_settings(config, environ={}).sender.from_address == "Shop <josé@shop.example>"
