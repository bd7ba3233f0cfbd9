"""A true/false key takes YAML's true or false and nothing else: pydantic would read the
text "yes", "1", "on" or "false" and the numbers 0 and 1 as truth values, so a value
quoted by mistake was taken for what it happened to look like. Refused at FILE:LINE,
in config.yaml and campaign files alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import config_problems

from rapport.engine.campaigns.model import load_campaign
from rapport.engine.core.config import Settings, load_settings
from rapport.engine.core.errors import CampaignError

CAMPAIGN = """\
name: Birthday
trigger:
  type: birthday
topic: birthday
channels: [email]
"""


@pytest.mark.parametrize("written", ['"yes"', '"1"', '"on"', '"false"', "'no'"])
def test_a_quoted_truth_value_is_refused_at_its_line(tmp_path: Path, written: str) -> None:
    text = written.strip("\"'")
    assert config_problems(tmp_path, f"web:\n  port: 8000\n  enabled: {written}\n") == [
        f"3: web.enabled: expected true or false, not the text {text!r}: write true or "
        "false, without quotes"
    ]


def test_a_number_is_refused_for_a_true_false_key(tmp_path: Path) -> None:
    assert config_problems(tmp_path, "production: 1\n") == [
        "1: production: expected true or false, not the number 1: write true or false, "
        "without quotes"
    ]


def test_a_quoted_truth_value_cannot_widen_the_legal_sms_window(tmp_path: Path) -> None:
    found = config_problems(
        tmp_path,
        'quiet_hours:\n  sms: {not_before: "07:00", not_after: "21:00", widen_legal_window: "1"}\n',
    )
    assert found[0].startswith("2: quiet_hours.sms.widen_legal_window: expected true or false")


def test_yaml_truth_values_still_load(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("web:\n  enabled: yes\n  access_log: off\nproduction: false\n")

    settings = load_settings(config, environ={})

    assert (settings.web.enabled, settings.web.access_log, settings.production) == (
        True,
        False,
        False,
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('paused: "no"\n', (6, "paused", "the text 'no'")),
        ("allow_late: 1\n", (6, "allow_late", "the number 1")),
        ('offer:\n  coupon: "yes"\n', (7, "offer.coupon", "the text 'yes'")),
    ],
)
def test_a_quoted_truth_value_in_a_campaign_is_refused_at_its_line(
    tmp_path: Path, text: str, where: tuple[int, str, str]
) -> None:
    path = tmp_path / "birthday.yaml"
    path.write_text(CAMPAIGN + text, encoding="utf-8")

    with pytest.raises(CampaignError) as raised:
        load_campaign(path, Settings(base_dir=tmp_path))

    line, field, what = where
    assert [(p.line, p.field, p.message) for p in raised.value.problems] == [
        (line, field, f"expected true or false, not {what}: write true or false, without quotes")
    ]


def test_a_quoted_truth_value_in_a_trigger_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "reorder.yaml"
    path.write_text(
        'name: Reorder\ntrigger:\n  type: reorder\n  days_after: 30\n  learn: "yes"\n'
        "topic: reorder\nchannels: [email]\n",
        encoding="utf-8",
    )

    with pytest.raises(CampaignError) as raised:
        load_campaign(path, Settings(base_dir=tmp_path))

    assert [(p.line, p.field) for p in raised.value.problems] == [(5, "trigger.learn")]
