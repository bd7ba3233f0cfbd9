"""A file in the campaigns folder named like a campaign file but not as one is a
problem: ``Birthday.YAML``, ``birthday.ymal`` or ``birthday.yaml.txt`` was never read,
so the campaign silently did not run while ``campaigns validate`` counted one fewer
valid campaign and said nothing. Backups (``birthday.yaml~``, ``birthday.yaml.bak``)
and hidden files are left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.model import load_campaigns
from rapport.engine.core.config import Settings

CAMPAIGN = "name: Birthday\ntrigger:\n  type: birthday\ntopic: birthday\nchannels: [email]\n"


def problems(root: Path, name: str) -> list[str]:
    (root / "campaigns").mkdir()
    (root / "campaigns" / name).write_text(CAMPAIGN, encoding="utf-8")
    _, found = load_campaigns(Settings(base_dir=root))
    return [f"{p.file}: {p.message}" for p in found]


@pytest.mark.parametrize(
    "name", ["Birthday.YAML", "birthday.Yml", "birthday.ymal", "birthday.yaml.txt", "birthday.yam"]
)
def test_a_file_named_like_a_campaign_file_is_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (problem,) = problems(tmp_path, name)
    assert problem.startswith(f"campaigns/{name}: ") and "never loaded" in problem


@pytest.mark.parametrize(
    "name", ["birthday.yaml~", "birthday.yaml.bak", ".birthday.yaml.swp", "README.md", "notes.txt"]
)
def test_other_files_are_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert problems(tmp_path, name) == []


@pytest.mark.parametrize(
    "name", ["birthday.yaml.disabled", "birthday.yaml.off", "birthday.yml.example"]
)
def test_a_campaign_file_put_aside_under_another_ending_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Renaming a campaign's file is how many switch it off: such a file stopped
    every plan (the folder's problems stop planning), not only its own campaign."""
    monkeypatch.chdir(tmp_path)
    assert problems(tmp_path, name) == []
