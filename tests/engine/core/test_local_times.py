"""Times of day are written "HH:MM", as docs/campaigns.md and docs/configuration.md
say: seconds, a time zone or ISO 8601's other forms ("0930", "T09:00", "09") are
refused at FILE:LINE naming the key.

A campaign's ``send_window: {start: "09:00:30"}`` loaded (``time.fromisoformat`` reads
every ISO form), so a typo in a window went unnoticed.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from factories import config_problems

from rapport.engine.campaigns.model import load_campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError

CAMPAIGN = "name: T\ntrigger: {type: birthday}\ntopic: birthday\nchannels: [email]\n"
NOT_HH_MM = ["09:00:30", "09:00:00", "0930", "T09:00", "09", "09:00:00.5"]


def campaign_problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "t.yaml"
    path.write_text(CAMPAIGN + text, encoding="utf-8")
    with pytest.raises(CampaignError) as raised:
        load_campaign(path, Settings(), "t.yaml")
    return [str(p) for p in raised.value.problems]


@pytest.mark.parametrize("written", NOT_HH_MM)
def test_a_send_window_time_not_written_hh_mm_is_refused_at_its_line(
    tmp_path: Path, written: str
) -> None:
    found = campaign_problems(tmp_path, f'send_window:\n  start: "{written}"\n  end: "20:00"\n')
    assert len(found) == 1 and found[0].startswith("t.yaml:6: send_window.start: "), found
    assert 'write the time as "HH:MM"' in found[0]


@pytest.mark.parametrize("written", NOT_HH_MM)
def test_a_configured_time_not_written_hh_mm_is_refused_at_its_line(
    tmp_path: Path, written: str
) -> None:
    found = config_problems(tmp_path, f'planning:\n  default_window_end: "{written}"\n')
    assert len(found) == 1 and found[0].startswith("2: planning.default_window_end: "), found


def test_a_send_window_written_hh_mm_loads(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(CAMPAIGN + 'send_window: {start: "09:30", end: " 20:00 "}\n', encoding="utf-8")
    window = load_campaign(path, Settings(), "t.yaml").send_window
    assert window is not None and (window.start, window.end) == (time(9, 30), time(20, 0))
