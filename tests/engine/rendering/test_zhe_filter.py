"""The ``zhe`` filter: a discount said in 折, the share of the price paid."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.engine.rendering.zhe import zhe


@pytest.mark.parametrize(
    ("percent_off", "said"),
    [
        (20, "8折"),
        (50, "5折"),
        (15, "85折"),
        (Decimal("12.5"), "8.75折"),
        (91, "0.9折"),
        (95, "0.5折"),
        (99, "0.1折"),
        (Decimal("99.5"), "0.05折"),
        (Decimal("0.5"), "9.95折"),
        (10.0, "9折"),
        (100, "免费"),
    ],
)
def test_a_discount_is_said_as_the_tenths_of_the_price_paid(percent_off: object, said: str) -> None:
    assert zhe(percent_off) == said


def test_a_full_discount_takes_the_word_for_free_the_template_gives() -> None:
    assert zhe(100, free="免費") == "免費"
    assert zhe(20, free="免費") == "8折"


@pytest.mark.parametrize("percent_off", [0, -5, 101, Decimal("NaN"), float("inf")])
def test_a_discount_outside_what_an_offer_allows_is_refused(percent_off: object) -> None:
    with pytest.raises(ValueError, match="zhe needs"):
        zhe(percent_off)


@pytest.mark.parametrize("percent_off", ["20", True, None])
def test_a_discount_that_is_not_a_number_is_refused(percent_off: object) -> None:
    with pytest.raises(TypeError, match="zhe needs a number"):
        zhe(percent_off)
