"""A ``where`` condition on a number that no customer can have is refused at its line:
``{field: age, gte: 180}`` (a typo of 18) or ``{field: days_since_last_order, lte: -5}``
loaded, validated, and reached no one ('not met' for each customer). A condition every
customer meets (``{field: age, lt: 200}``) is left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.model import load_campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError

CAMPAIGN = (
    "name: Birthday\ntrigger:\n  type: birthday\ntopic: birthday\nchannels: [email]\n"
    "audience:\n  where:\n    - {condition}\n"
)


def problems(tmp_path: Path, condition: str) -> list[str]:
    path = tmp_path / "birthday.yaml"
    path.write_text(CAMPAIGN.replace("{condition}", condition), encoding="utf-8")
    with pytest.raises(CampaignError) as raised:
        load_campaign(path, Settings(base_dir=tmp_path))
    return [f"{p.line}: {p.message}" for p in raised.value.problems]


@pytest.mark.parametrize(
    "condition",
    [
        "{field: age, gte: 180}",
        "{field: age, in: [18, 1800]}",
        "{field: days_since_last_order, lte: -5}",
        "{field: order_count, lte: -1}",
        "{field: lifetime_value, lt: -100}",
    ],
)
def test_a_number_no_customer_can_have_is_refused_at_its_line(
    tmp_path: Path, condition: str
) -> None:
    (problem,) = problems(tmp_path, condition)
    assert problem.startswith("8: ") and "no customer" in problem


@pytest.mark.parametrize(
    "condition",
    ["{field: age, gte: 18}", "{field: days_since_last_order, lte: 0}", "{field: age, lt: 200}"],
)
def test_a_number_customers_can_have_loads(tmp_path: Path, condition: str) -> None:
    path = tmp_path / "birthday.yaml"
    path.write_text(CAMPAIGN.replace("{condition}", condition), encoding="utf-8")
    assert load_campaign(path, Settings(base_dir=tmp_path)).audience.where
