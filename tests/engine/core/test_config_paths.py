"""A folder or file written in config.yaml names something: an empty one read the
config file's own folder (``campaigns_dir: ""`` loaded config.yaml itself as a campaign,
with a dozen problems none of which named campaigns_dir), and one with a space at
either end named a folder beside the real one."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import config_problems


@pytest.mark.parametrize("key", ["campaigns_dir", "templates_dir", "secret_key_file"])
@pytest.mark.parametrize("written", ['""', '" "', '"campaigns "'])
def test_a_path_that_is_empty_or_padded_is_refused_at_its_line(
    tmp_path: Path, key: str, written: str
) -> None:
    (problem,) = config_problems(tmp_path, f"topics: [offers]\n{key}: {written}\n")
    assert problem.startswith(f"2: {key}: ")


def test_a_path_with_a_space_inside_loads(tmp_path: Path) -> None:
    from rapport.engine.core.config import load_settings

    config = tmp_path / "config.yaml"
    config.write_text('campaigns_dir: "my campaigns"\n', encoding="utf-8")
    assert load_settings(config, environ={}).campaigns_dir == Path("my campaigns")


@pytest.mark.parametrize("written", ["5", "[campaigns]", "true"])
def test_a_path_that_is_not_text_is_refused_in_words(tmp_path: Path, written: str) -> None:
    """It read "Input is not a valid path for <class 'pathlib.Path'>"."""
    (problem,) = config_problems(tmp_path, f"campaigns_dir: {written}\n")
    assert problem.startswith("1: campaigns_dir: expected the path of a file or folder")
    assert "pathlib" not in problem
