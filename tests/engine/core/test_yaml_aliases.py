"""YAML anchors and aliases are bounded: a "billion laughs" file is refused at its line.

Aliases of aliases expand exponentially; each file Rapport reads (config.yaml, campaign
files) is refused once aliases add more than 50,000 repeated values, before anything
else walks the data. The limit is pinned here with its literal value, at the edge.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from factories import REPO, run_rapport

from rapport.engine.core.config import load_settings
from rapport.engine.core.errors import ConfigError
from rapport.engine.core.yamlsource import YamlSyntaxError, load_yaml, parse_yaml

#: Nine levels of ten aliases each: 10**9 values once expanded.
LAUGHS = "\n".join(
    ['lol0: &lol0 "lol"']
    + [f"lol{n}: &lol{n} [{', '.join([f'*lol{n - 1}'] * 10)}]" for n in range(1, 10)]
)


def copies(aliases: int) -> str:
    """An anchored list of 99 numbers and ``aliases`` aliases of it: each alias repeats
    100 values (the list and its items)."""
    numbers = ", ".join(str(n) for n in range(99))
    return f"base: &base [{numbers}]\ncopies:\n" + "".join("  - *base\n" for _ in range(aliases))


def test_aliases_repeating_exactly_50000_values_load() -> None:
    document = parse_yaml(copies(500), "edge.yaml")
    assert len(document.data["copies"]) == 500


def test_one_alias_more_is_refused_at_its_line() -> None:
    with pytest.raises(YamlSyntaxError) as refused:
        parse_yaml(copies(501), "edge.yaml")
    assert refused.value.problem.line == 1  # the anchored list the last alias repeats
    assert "beyond 50,000 repeated values" in str(refused.value)


def test_a_billion_laughs_config_is_refused_with_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(LAUGHS + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(config, environ={})
    message = str(refused.value)
    assert f"{config}:" in message and "anchors and aliases expand this document" in message


def test_a_billion_laughs_campaign_file_fails_validation_naming_it(tmp_path: Path) -> None:
    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    (tmp_path / "campaigns" / "laughs.yaml").write_text(LAUGHS + "\n", encoding="utf-8")

    ran = run_rapport("campaigns", "validate", cwd=tmp_path)

    said = ran.stdout + ran.stderr
    assert ran.returncode != 0
    assert "laughs.yaml:" in said and "anchors and aliases" in said


def test_a_billion_laughs_scenario_file_is_refused_like_any_other(tmp_path: Path) -> None:
    # The scenario files the planning tests run are read with the same loader.
    path = tmp_path / "bomb.yaml"
    path.write_text(LAUGHS, encoding="utf-8")
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml(path)
    assert caught.value.problem.file == str(path)
    assert caught.value.problem.line is not None
