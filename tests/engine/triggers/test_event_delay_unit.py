"""An event trigger's ``delay`` written as a bare number (``delay: 2``) is told to
add its unit, at its line: it was 'Input should be a valid string', which says
neither what is wrong nor how to write it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.model import load_campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError


@pytest.mark.parametrize("written", ["2", "0"])
def test_a_delay_without_its_unit_is_told_to_add_it(tmp_path: Path, written: str) -> None:
    path = tmp_path / "shipped.yaml"
    path.write_text(
        "name: Shipped\ntrigger:\n  type: event\n  name: order_shipped\n"
        f"  delay: {written}\ntopic: offers\nchannels: [email]\n",
        encoding="utf-8",
    )
    with pytest.raises(CampaignError) as raised:
        load_campaign(path, Settings(base_dir=tmp_path))
    (problem,) = raised.value.problems
    assert (problem.line, problem.message) == (
        5,
        f"{written} has no unit: write {written}d for days or {written}w for weeks (0d to 365d)",
    )
