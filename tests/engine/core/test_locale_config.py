"""locales in config.yaml name locales Babel knows: a typo is refused at its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import config_problems

from rapport.engine.core.config import load_settings
from rapport.engine.core.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("locales:\n  supported: [en, fa, persian]\n", ":3: locales.supported"),
        ("locales:\n  supported: [en, xx_YY]\n", ":3: locales.supported"),
        ("locales:\n  default: english\n", ":3: locales.default"),
    ],
)
def test_an_unknown_locale_is_refused_at_its_line(tmp_path: Path, text: str, where: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database: {url: 'sqlite:///r.db'}\n" + text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    assert f"{config}{where}" in str(caught.value)
    assert "not a known locale" in str(caught.value)


def test_known_locales_with_scripts_and_territories_load(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "locales:\n  default: en\n  supported: [en, fa_IR, zh, zh_Hant, zh-TW, ar_EG]\n",
        encoding="utf-8",
    )
    supported = load_settings(config, environ={}).locales.supported
    assert supported == ["en", "fa_IR", "zh", "zh_Hant", "zh-TW", "ar_EG"]


def test_an_empty_list_of_supported_locales_is_refused_at_its_line(tmp_path: Path) -> None:
    """'supported: []' loaded, and campaigns validate rendered no template and said
    '10 campaigns valid in ' (no locale named)."""
    assert config_problems(tmp_path, "locales:\n  default: en\n  supported: []\n") == [
        "3: locales.supported: at least one locale: campaigns validate renders templates in each"
    ]
