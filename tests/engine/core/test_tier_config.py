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


@pytest.mark.parametrize("rate", ["0", "1.5", "100"])
def test_a_rate_for_the_base_currency_other_than_1_is_refused(tmp_path: Path, rate: str) -> None:
    """'USD: 0' beside 'base_currency: USD' loaded, and every USD order counted no spend."""
    text = f"tiers:\n  base_currency: USD\n  rates:\n    USD: {rate}\n    EUR: 1.08\n"

    assert problems_of(tmp_path, text) == [
        f"3: tiers.rates: USD is the base currency, worth 1 USD by definition, not {rate}: "
        "write USD: 1 or leave it out"
    ]


def test_a_rate_of_1_for_the_base_currency_is_fine(tmp_path: Path) -> None:
    from rapport.engine.core.config import load_settings

    config = tmp_path / "config.yaml"
    config.write_text("tiers:\n  base_currency: EUR\n  rates: {EUR: 1.0, USD: 0.93}\n")

    assert load_settings(config, environ={}).tiers.rates["EUR"] == 1


def test_a_tier_name_with_a_space_at_either_end_is_refused(tmp_path: Path) -> None:
    """'vib ' loaded, and every campaign naming vib was refused instead ('unknown tier
    or segment 'vib'; tiers: insider, vib , rouge'), none of it naming config.yaml."""
    levels = '[{name: insider, min_spend: 0}, {name: "vib ", min_spend: 350}]'
    assert problems_of(tmp_path, f"tiers:\n  levels: {levels}\n") == [
        "2: tiers.levels: tier 'vib ' has a space at its start or end: campaigns and "
        "offers name it without"
    ]
