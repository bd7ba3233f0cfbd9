"""An unknown key in config.yaml or a campaign file names the key that was meant when
one is close: `web.basse_url: unknown key; did you mean 'base_url'?`, as a misspelt
adapter option, quiet-hours kind or channel-cap key already did. The key is still
refused at its line; a key like no other gets no guess."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.model import load_campaign
from rapport.engine.core.config import Settings, load_settings
from rapport.engine.core.errors import CampaignError, ConfigError


def config_problems(tmp_path: Path, text: str) -> str:
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(config, environ={})
    return str(refused.value)


def test_a_misspelt_top_level_key_names_the_key_meant(tmp_path: Path) -> None:
    found = config_problems(tmp_path, "dispach:\n  batch_size: 3\n")
    assert ":1: dispach: unknown key; did you mean 'dispatch'?" in found


def test_a_misspelt_key_of_a_section_names_the_key_meant(tmp_path: Path) -> None:
    found = config_problems(tmp_path, 'web:\n  basse_url: "https://shop.example"\n')
    assert ":2: web.basse_url: unknown key; did you mean 'base_url'?" in found


def test_a_misspelt_key_inside_a_list_item_names_the_key_meant(tmp_path: Path) -> None:
    text = "tiers:\n  levels:\n    - {name: a, min_spnd: 0}\n"
    found = config_problems(tmp_path, text)
    assert ":3: tiers.levels.0.min_spnd: unknown key; did you mean 'min_spend'?" in found


def test_a_key_like_no_other_gets_no_guess(tmp_path: Path) -> None:
    found = config_problems(tmp_path, "web:\n  zzz: 1\n")
    assert found.endswith(":2: web.zzz: unknown key")


def test_a_misspelt_campaign_key_names_the_key_meant(tmp_path: Path) -> None:
    path = tmp_path / "sale.yaml"
    path.write_text(
        "name: Sale\ntrigger: {type: birthday, days_befor: 2}\ntopic: offers\n"
        "channels: [email]\nprority: 3\n",
        encoding="utf-8",
    )
    with pytest.raises(CampaignError) as refused:
        load_campaign(path, Settings())
    problems = [str(problem) for problem in refused.value.problems]
    assert f"{path}:5: prority: unknown key; did you mean 'priority'?" in problems
    assert f"{path}:2: trigger.days_befor: unknown key; did you mean 'days_before'?" in problems
