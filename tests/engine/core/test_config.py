"""config.yaml loading: mistakes are reported as FILE:LINE: key: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.core.config import load_settings
from rapport.engine.core.errors import ConfigError


def test_a_bad_sms_keyword_list_names_the_file_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "web:\n"
        "  base_url: http://127.0.0.1:8000\n"
        "sms_keywords:\n"
        "  start: [شروع]\n"
        "  stop:\n"  # line 5
        "    - لغو\n"
        '    - "..."\n',
        encoding="utf-8",
    )

    with pytest.raises(ConfigError) as raised:
        load_settings(config, environ={})

    message = str(raised.value)
    assert f"{config}:5: sms_keywords.stop" in message
    assert "a keyword must contain letters" in message


def test_unknown_channel_adapter_is_reported_at_its_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "channels:\n  email:\n    adapter: carrier-pigeon\n    kind: email\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    assert f"{config}:3: channels.email.adapter: unknown adapter 'carrier-pigeon'" in str(
        caught.value
    )
