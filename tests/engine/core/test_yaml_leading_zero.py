"""A number written with a leading zero is refused at its line: YAML 1.1, which PyYAML
reads, takes ``030`` for the octal number 24, so ``retention.outbox_days: 030`` kept
bodies 24 days and ``dispatch.max_attempts: 010`` tried 8 times, and in a campaign
``{field: order_count, gte: 010}`` took customers with 8 orders. ``0``, ``0.5`` and a
quoted ``"01234"`` are what they look like and load."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import config_problems

from rapport.engine.campaigns.model import load_campaign
from rapport.engine.core.config import Settings, load_settings
from rapport.engine.core.errors import CampaignError


@pytest.mark.parametrize(("written", "read"), [("030", 24), ("010", 8), ("-07", -7)])
def test_a_number_with_a_leading_zero_is_refused_at_its_line(
    tmp_path: Path, written: str, read: int
) -> None:
    (problem,) = config_problems(tmp_path, f"retention:\n  outbox_days: {written}\n")
    assert problem == (
        f"2: retention.outbox_days: {written!r} is read by YAML as the octal number "
        f"{read}: write the number without its leading zero, or in quotes if it is text"
    )


def test_numbers_without_a_leading_zero_load(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "retention:\n  outbox_days: 30\n  decision_days: 0\ntemplate_limits:\n  max_seconds: 0.5\n",
        encoding="utf-8",
    )
    settings = load_settings(config, environ={})
    assert (settings.retention.outbox_days, settings.retention.decision_days) == (30, 0)


def test_a_leading_zero_in_a_campaign_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "birthday.yaml"
    path.write_text(
        "name: Birthday\ntrigger:\n  type: birthday\ntopic: birthday\nchannels: [email]\n"
        "audience:\n  where:\n    - {field: order_count, gte: 010}\n",
        encoding="utf-8",
    )
    with pytest.raises(CampaignError) as raised:
        load_campaign(path, Settings(base_dir=tmp_path))
    (problem,) = raised.value.problems
    assert (problem.line, "'010' is read by YAML as the octal number 8") == (
        8,
        problem.message[: len("'010' is read by YAML as the octal number 8")],
    )
