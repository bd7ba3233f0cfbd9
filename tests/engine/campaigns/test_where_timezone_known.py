"""An ``audience.where`` condition on ``timezone`` names a time zone that exists.

``{field: timezone, eq: Asia/Tehrann}`` loaded and validated, and then reached no
customer at all, every one 'not met', while a misspelt country, locale, language,
tier, stage or segment is refused at its line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.model import load_campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError

CAMPAIGN = (
    "name: Tehran\n"
    "trigger: {type: recurring, cron: '@daily'}\n"
    "topic: offers\n"
    "channels: [email]\n"
    "audience:\n"
    "  where:\n"
    "    - {field: timezone, %s}\n"
)


def load(tmp_path: Path, condition: str) -> None:
    path = tmp_path / "tehran.yaml"
    path.write_text(CAMPAIGN % condition, encoding="utf-8")
    load_campaign(path, Settings(), "campaigns/tehran.yaml")


def test_a_misspelt_time_zone_is_refused_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(CampaignError) as refused:
        load(tmp_path, "in: [Asia/Shanghai, Asia/Tehrann]")
    assert [str(p) for p in refused.value.problems] == [
        "campaigns/tehran.yaml:7: audience.where.0.in: unknown time zone 'Asia/Tehrann' "
        "(an IANA name, e.g. 'Asia/Tehran')"
    ]


@pytest.mark.parametrize("zone", ["Asia/Tehran", "asia/tehran", "America/Port-au-Prince", "UTC"])
def test_a_time_zone_in_any_case_is_accepted(tmp_path: Path, zone: str) -> None:
    load(tmp_path, f"eq: {zone}")
