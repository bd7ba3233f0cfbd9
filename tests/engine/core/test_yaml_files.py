"""Reading config.yaml and campaign files is bounded, and a file that cannot be read is
a problem at that file like any other: a 200 MB file took 0.9 GB and seconds to load,
``--config /dev/zero`` all the memory there was, and a folder named ``x.yaml`` among
the campaigns ended every command with 'Is a directory' (exit 3) and no other file
checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.model import load_campaigns
from rapport.engine.core.config import Settings, load_settings
from rapport.engine.core.errors import ConfigError
from rapport.engine.core.yamlsource import MAX_YAML_BYTES

TOO_LARGE = (
    "larger than 1 MiB, which no configuration or campaign file needs: is it the right file?"
)

CAMPAIGN = "name: Birthday\ntrigger: {type: birthday}\ntopic: birthday\nchannels: [email]\n"


def padded(text: str, size: int) -> str:
    """``text`` followed by comment lines up to ``size`` bytes."""
    line = "# " + "x" * 97 + "\n"
    rest = size - len(text.encode())
    return text + line * (rest // len(line)) + "#" * (rest % len(line))


def test_a_config_file_larger_than_1_mib_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(padded("caps: {per_day: 2}\n", MAX_YAML_BYTES + 1), encoding="utf-8")

    with pytest.raises(ConfigError) as raised:
        load_settings(config, environ={})

    assert [str(p) for p in raised.value.problems] == [f"{config}: {TOO_LARGE}"]


def test_a_config_file_of_exactly_1_mib_loads(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(padded("caps: {per_day: 2}\n", MAX_YAML_BYTES), encoding="utf-8")

    assert load_settings(config, environ={}).caps.per_day == 2


def test_an_endless_config_file_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings("/dev/zero", environ={})

    assert [p.message for p in raised.value.problems] == [TOO_LARGE]


def test_a_campaign_file_larger_than_1_mib_is_refused_and_the_others_load(tmp_path: Path) -> None:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "birthday.yaml").write_text(CAMPAIGN, encoding="utf-8")
    (tmp_path / "campaigns" / "huge.yaml").write_text(
        padded(CAMPAIGN, MAX_YAML_BYTES + 1), encoding="utf-8"
    )

    campaigns, problems = load_campaigns(Settings(base_dir=tmp_path))

    assert [c.id for c in campaigns] == ["birthday"]
    assert [(Path(p.file).name, p.message) for p in problems] == [("huge.yaml", TOO_LARGE)]


def test_a_folder_named_like_a_campaign_file_is_a_problem_at_it(tmp_path: Path) -> None:
    (tmp_path / "campaigns" / "folder.yaml").mkdir(parents=True)
    (tmp_path / "campaigns" / "birthday.yaml").write_text(CAMPAIGN, encoding="utf-8")

    campaigns, problems = load_campaigns(Settings(base_dir=tmp_path))

    assert [c.id for c in campaigns] == ["birthday"]
    assert [(Path(p.file).name, p.message) for p in problems] == [
        ("folder.yaml", "cannot be read: Is a directory")
    ]


def test_a_config_file_that_is_not_utf8_is_refused_at_the_line_of_the_first_bad_byte(
    tmp_path: Path,
) -> None:
    """A Latin-1 'café' in a comment on line 3 was 'config.yaml: not UTF-8 text
    (invalid continuation byte)', naming no line in a file of hundreds."""
    config = tmp_path / "config.yaml"
    config.write_bytes(b"caps:\n  per_day: 2\n# caf\xe9 comment\nweb:\n  port: 8000\n")

    with pytest.raises(ConfigError) as raised:
        load_settings(config, environ={})

    assert [str(p) for p in raised.value.problems] == [
        f"{config}:3: not UTF-8 text (invalid continuation byte): save the file as UTF-8"
    ]


def test_a_campaign_file_that_is_not_utf8_is_refused_at_its_line(tmp_path: Path) -> None:
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    (campaigns / "latin.yaml").write_bytes(CAMPAIGN.encode() + b"description: \xe9t\xe9\n")
    settings = Settings(base_dir=tmp_path, campaigns_dir=campaigns)

    _, problems = load_campaigns(settings)

    assert [(p.line, p.message) for p in problems] == [
        (5, "not UTF-8 text (invalid continuation byte): save the file as UTF-8")
    ]
