"""An unknown key that is a key of another section is named with the section it belongs
to: ``plan_seconds`` written under ``dispatch`` was told 'did you mean
'lease_seconds'?', and ``per_day`` at the top of the file only 'unknown key'."""

from __future__ import annotations

from pathlib import Path

from factories import config_problems

from rapport.engine.campaigns.model import load_campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError


def test_a_key_of_another_section_names_that_section(tmp_path: Path) -> None:
    assert config_problems(tmp_path, "dispatch:\n  plan_seconds: 60\n") == [
        "2: dispatch.plan_seconds: unknown key here; it is a key of daemon: write it as "
        "daemon.plan_seconds"
    ]


def test_a_section_key_written_at_the_top_names_its_section(tmp_path: Path) -> None:
    assert config_problems(tmp_path, "per_day: 2\n") == [
        "1: per_day: unknown key here; it is a key of caps: write it as caps.per_day"
    ]


def test_a_campaign_key_of_another_section_names_it(tmp_path: Path) -> None:
    path = tmp_path / "birthday.yaml"
    path.write_text(
        "name: Birthday\ntrigger:\n  type: birthday\ntopic: birthday\nchannels: [email]\n"
        "min_days_between: 30\n",
        encoding="utf-8",
    )
    try:
        load_campaign(path, Settings(base_dir=tmp_path))
    except CampaignError as exc:
        (problem,) = exc.problems
    assert (problem.line, problem.message) == (
        6,
        "unknown key here; it is a key of frequency: write it as frequency.min_days_between",
    )
