"""template_limits in config.yaml: closed, bounded, and never switched off by omission."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import REPO

from rapport.engine.core.config import load_settings
from rapport.engine.core.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text("database: {url: 'sqlite:///r.db'}\n" + text, encoding="utf-8")
    return config


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("template_limits:\n  max_second: 5\n", ":3: template_limits.max_second", "unknown"),
        ("template_limits:\n  max_seconds: 0\n", ":3: template_limits.max_seconds", "greater"),
        ("template_limits:\n  max_seconds: 11\n", ":3: template_limits.max_seconds", "10"),
        ("template_limits:\n  max_memory_mb: 3\n", ":3: template_limits.max_memory_mb", "4"),
        ("template_limits:\n  max_memory_mb: 513\n", ":3: template_limits.max_memory_mb", "512"),
        (
            "template_limits:\n  max_output_chars: 2000001\n",
            ":3: template_limits.max_output_chars",
            "2000000",
        ),
        ("template_limits:\n  max_seconds: null\n", ":3: template_limits.max_seconds", ""),
        ("template_limit:\n  max_seconds: 1\n", ":2: template_limit", "unknown"),
    ],
)
def test_a_wrong_template_limit_is_refused_at_its_line(
    tmp_path: Path, text: str, where: str, says: str
) -> None:
    config = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    message = str(caught.value)
    assert f"{config}{where}" in message, message
    assert says in message


def test_left_out_the_template_limits_are_1_s_64_mb_and_100000_characters(
    tmp_path: Path,
) -> None:
    limits = load_settings(write(tmp_path, "template_limits: {}\n"), environ={}).template_limits
    assert (limits.max_seconds, limits.max_memory_mb, limits.max_output_chars) == (
        1,
        64,
        100_000,
    )
    left_out = load_settings(write(tmp_path, ""), environ={}).template_limits
    assert left_out == limits


def test_the_shipped_config_states_the_defaults() -> None:
    shipped = load_settings(REPO / "config.yaml", environ={}).template_limits
    assert (shipped.max_seconds, shipped.max_memory_mb, shipped.max_output_chars) == (
        1,
        64,
        100_000,
    )
