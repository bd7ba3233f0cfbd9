"""tiers in config.yaml: rates that convert, and tier names campaigns can name."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import config_problems as problems_of


def test_a_negative_exchange_rate_is_refused_at_its_line(tmp_path: Path) -> None:
    """'EUR: -1.08' loaded, and every EUR order lowered a customer's spend."""
    assert problems_of(tmp_path, "tiers:\n  rates:\n    USD: 1\n    EUR: -1.08\n") == [
        "4: tiers.rates.EUR: Input should be greater than or equal to 0"
    ]


@pytest.mark.parametrize(
    ("levels", "said"),
    [
        (
            "[{name: vib, min_spend: 0}, {name: vib, min_spend: 350}]",
            "tier 'vib' is listed twice: a customer is in one tier, which campaigns and "
            "offers name",
        ),
        ('[{name: " ", min_spend: 0}]', "a tier needs a name: campaigns and offers name it"),
    ],
)
def test_a_tier_named_twice_or_not_at_all_is_refused(
    tmp_path: Path, levels: str, said: str
) -> None:
    assert problems_of(tmp_path, f"tiers:\n  levels: {levels}\n") == [f"2: tiers.levels: {said}"]
