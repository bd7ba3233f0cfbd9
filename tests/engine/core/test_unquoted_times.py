"""docs/configuration.md on times of day written without quotes: YAML 1.1 reads an
unquoted 19:30 as the number 1170 (base 60), which is refused at its line; a time with
a leading zero, 09:30, is no base-60 number for YAML and is read as the text "09:30",
so it is taken as written, as the quoted form is."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from rapport.engine.core.config import Settings, load_settings
from rapport.engine.core.errors import ConfigError


def _load(tmp_path: Path, start: str, end: str) -> Settings:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"planning:\n  default_window_start: {start}\n  default_window_end: {end}\n",
        encoding="utf-8",
    )
    return load_settings(config, environ={})


def test_an_unquoted_time_with_a_leading_zero_is_the_time_written(tmp_path: Path) -> None:
    planning = _load(tmp_path, "09:30", '"19:30"').planning
    assert planning.default_window_start == time(9, 30)


def test_an_unquoted_time_from_10_00_is_refused_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, '"09:30"', "19:30")
    assert ':3: planning.default_window_end: write the time in quotes: "19:30"' in str(
        refused.value
    )
    assert "YAML reads 19:30 as the number 1170" in str(refused.value)
