"""A campaign's starts_on or ends_on before 2000, the first year planned, is refused at its
line, with the hint a Solar Hijri date gets on import: ``starts_on: 1405-09-10``
(10 Azar 1405, 1 December 2026, as an Iranian marketer writes it) loaded as the year
1405 of the Gregorian calendar, so the campaign was active at once instead of from
that day, while --date refuses such a year."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.model import load_campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError

BASE = "name: Promo\ntrigger:\n  type: birthday\ntopic: birthday\nchannels: [email]\n"


@pytest.mark.parametrize("text", ["starts_on: 1405-09-10\n", "ends_on: 1405-12-29\n"])
def test_a_date_before_the_years_planned_is_refused_at_its_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "promo.yaml"
    path.write_text(BASE + text, encoding="utf-8")
    with pytest.raises(CampaignError) as raised:
        load_campaign(path, Settings(base_dir=tmp_path))
    (problem,) = raised.value.problems
    assert problem.line == 6 and "before 2000" in problem.message
    assert "Solar Hijri" in problem.message


def test_a_date_in_the_years_planned_loads(tmp_path: Path) -> None:
    path = tmp_path / "promo.yaml"
    path.write_text(BASE + "starts_on: 2026-11-22\n", encoding="utf-8")
    assert load_campaign(path, Settings(base_dir=tmp_path)).starts_on is not None


@pytest.mark.parametrize("text", ["ends_on: 9999-12-31\n", "ends_on: 2405-01-01\n"])
def test_an_end_far_in_the_future_written_for_never_loads(tmp_path: Path, text: str) -> None:
    # Refused by d2228e8, and a campaign problem stops every plan: a campaign written
    # to run "forever" stopped planning altogether.
    path = tmp_path / "promo.yaml"
    path.write_text(BASE + text, encoding="utf-8")
    assert load_campaign(path, Settings(base_dir=tmp_path)).ends_on is not None
