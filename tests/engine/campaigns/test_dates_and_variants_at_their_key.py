"""Dates out of order and a variant name used twice are refused at the key's line.

Both were checked on the whole campaign, so the problem pointed at line 1 and named
no key ('campaigns/sale.yaml:1: starts_on must not be after ends_on'), unlike every
other mistake in a campaign file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.model import load_campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError

HEAD = "name: Sale\ntrigger: {type: recurring, cron: '@daily'}\ntopic: offers\nchannels: [email]\n"


def refusal(tmp_path: Path, rest: str) -> list[str]:
    path = tmp_path / "sale.yaml"
    path.write_text(HEAD + rest, encoding="utf-8")
    with pytest.raises(CampaignError) as refused:
        load_campaign(path, Settings(), "campaigns/sale.yaml")
    return [str(p) for p in refused.value.problems]


def test_an_end_before_the_start_is_refused_at_ends_on(tmp_path: Path) -> None:
    assert refusal(tmp_path, "starts_on: 2027-03-01\nends_on: 2027-02-01\n") == [
        "campaigns/sale.yaml:6: ends_on: is before starts_on (2027-03-01)"
    ]


def test_a_variant_name_used_twice_is_refused_at_variants(tmp_path: Path) -> None:
    variants = (
        "variants:\n"
        "  - {name: warm, templates: a}\n"
        "  - {name: short, templates: b}\n"
        "  - {name: warm, templates: c}\n"
    )
    assert refusal(tmp_path, variants) == [
        "campaigns/sale.yaml:5: variants: 'warm' names variants 0 and 2; "
        "each variant needs its own name"
    ]
