"""A section written as something other than a mapping of keys is told so in words:
``caps: []``, ``daemon: 5`` or ``email: file`` read 'Input should be a valid
dictionary or instance of CapsConfig', naming a Python class."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import config_problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("caps: []\n", "1: caps: expected keys and values (key: value), not a list"),
        ("daemon: 5\n", "1: daemon: expected keys and values (key: value), not the number 5"),
        (
            "channels:\n  email: file\n",
            "2: channels.email: expected keys and values (key: value), not the text 'file'",
        ),
        (
            "quiet_hours:\n  sms: null\n",
            "2: quiet_hours.sms: expected keys and values (key: value), not null",
        ),
    ],
)
def test_a_section_that_is_not_a_mapping_is_told_in_words(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert config_problems(tmp_path, text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sender:\n  postal_address: null\n", "2: sender.postal_address: expected text, not null"),
        ("sender:\n  brand: [Shop]\n", "2: sender.brand: expected text, not a list"),
    ],
)
def test_a_text_key_given_something_else_is_told_in_words(
    tmp_path: Path, text: str, expected: str
) -> None:
    """It read 'Input should be a valid string'."""
    assert config_problems(tmp_path, text) == [expected]
