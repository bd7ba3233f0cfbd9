"""A campaign's ``name`` is what people call it: reports show it and templates print it
as ``campaign.name``. Empty or only spaces, it loaded and reports showed a blank row
heading; it is refused at its FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.model import load_campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError

REST = "trigger: {type: birthday}\ntopic: birthday\nchannels: [email]\n"


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    return load_campaign(path, Settings(), "t.yaml")


@pytest.mark.parametrize("written", ['""', '"   "', "'\t'", '"\u3000"'])
def test_a_blank_campaign_name_is_refused_at_its_line(tmp_path: Path, written: str) -> None:
    with pytest.raises(CampaignError) as raised:
        load(tmp_path, f"{REST}name: {written}\n")
    (problem,) = raised.value.problems
    assert str(problem).startswith("t.yaml:4: name: "), str(problem)
    assert "may not be empty" in problem.message


def test_a_campaign_name_loads_as_written(tmp_path: Path) -> None:
    assert load(tmp_path, f"{REST}name: تولد مبارک\n").name == "تولد مبارک"


def test_validate_refuses_a_second_file_with_the_same_campaign_id(tmp_path: Path) -> None:
    """birthday.yaml and birthday.yml were both loaded as campaign 'birthday':
    `campaigns validate` said 2 campaigns valid, and plan and explain had it twice."""
    import json

    from factories import run_rapport

    (tmp_path / "campaigns").mkdir()
    for name, text in (("hello.yaml", "name: Real\n"), ("hello.yml", "name: Copy\n")):
        (tmp_path / "campaigns" / name).write_text(REST + text, encoding="utf-8")
    (tmp_path / "config.yaml").write_text(
        "locales: {default: en, supported: [en]}\ntopics: [birthday]\n", encoding="utf-8"
    )
    ran = run_rapport("campaigns", "validate", "--json", cwd=tmp_path)
    assert ran.returncode == 1, ran.stderr
    document = json.loads(ran.stdout)
    assert document["campaigns"] == ["hello"]
    [problem] = [p for p in document["problems"] if p["file"].endswith("hello.yml")]
    assert "hello.yaml holds the campaign 'hello' already" in problem["message"]
