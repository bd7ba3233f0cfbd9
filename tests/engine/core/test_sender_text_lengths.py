"""The sender's texts go into every message, so each is bounded at its config.yaml line:
a 360 KB ``postal_address`` loaded, and then every template failed with 'output exceeds
100000 characters', naming the templates rather than the key; an over-long
``unsubscribe_mailto`` broke the List-Unsubscribe header of every e-mail."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import config_problems

from rapport.engine.core.config import load_settings
from rapport.engine.core.configtexts import MAX_ADDRESS_CHARS, MAX_SENDER_TEXT_CHARS
from rapport.engine.core.sender import MAX_FROM_NAME_CHARS, MAX_SMS_SIGNATURE_CHARS


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("postal_address", "1 Long Street, " * 40_000),
        ("brand", "B" * (MAX_SENDER_TEXT_CHARS + 1)),
        ("contact", "c" * (MAX_SENDER_TEXT_CHARS + 1)),
        ("unsubscribe_mailto", "u" * MAX_ADDRESS_CHARS + "@example.com"),
        ("from_address", "Shop <" + "f" * MAX_ADDRESS_CHARS + "@example.com>"),
    ],
)
def test_a_sender_text_longer_than_a_message_can_carry_is_refused_at_its_line(
    tmp_path: Path, key: str, value: str
) -> None:
    (problem,) = config_problems(tmp_path, f'sender:\n  {key}: "{value}"\n')
    assert problem.startswith(f"2: sender.{key}: ")
    assert "characters" in problem
    assert value[:50] not in problem  # the text is not echoed back, kilobytes of it


@pytest.mark.parametrize(
    ("key", "most"),
    [("from_name", MAX_FROM_NAME_CHARS), ("sms_signature", MAX_SMS_SIGNATURE_CHARS)],
)
def test_a_per_locale_sender_text_longer_than_its_bound_is_refused_at_its_line(
    tmp_path: Path, key: str, most: int
) -> None:
    (problem,) = config_problems(tmp_path, f'sender:\n  {key}:\n    fa: "{"ن" * (most + 1)}"\n')
    assert problem.startswith(f"2: sender.{key}: ") and f"at most {most}" in problem


def test_sender_texts_at_their_bounds_load(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "sender:\n"
        f'  postal_address: "{"پ" * MAX_SENDER_TEXT_CHARS}"\n'
        f'  unsubscribe_mailto: "{"u" * (MAX_ADDRESS_CHARS - 12)}@example.com"\n'
        f'  from_name:\n    zh: "{"店" * MAX_FROM_NAME_CHARS}"\n'
        f'  sms_signature:\n    zh: "【{"店" * (MAX_SMS_SIGNATURE_CHARS - 2)}】"\n',
        encoding="utf-8",
    )
    sender = load_settings(config, environ={}).sender
    assert len(sender.postal_address) == MAX_SENDER_TEXT_CHARS
    assert len(sender.unsubscribe_mailto) == MAX_ADDRESS_CHARS
