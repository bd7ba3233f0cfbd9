"""An order's amount is digits with a '.' before any decimals and no thousands separator
(docs/import.md), in any script's digits. Python's Decimal reads '1_000' as 1000 (PEP
515 grouping), so an amount grouped with underscores was imported while one grouped
with commas was refused; and a refused amount written the way a Persian or European
shop writes numbers ('۱٬۲۵۰٬۰۰۰', '۱۲٫۵', '12,50') was told only 'not a number'."""

from __future__ import annotations

import pytest

from rapport.engine.customers import fields
from rapport.engine.customers.fields import FieldInvalid


@pytest.mark.parametrize("raw", ["1_000", "1_250_000.50", "۱_۰۰۰"])
def test_an_amount_grouped_with_underscores_is_refused(raw: str) -> None:
    with pytest.raises(FieldInvalid) as caught:
        fields.amount(raw)
    assert caught.value.field == "amount"


@pytest.mark.parametrize(
    "raw", ["۱٬۲۵۰٬۰۰۰", "۱۲٫۵", "12,50", "1,250,000", "1 250 000", "1'000", "1_000"]
)
def test_an_amount_written_with_separators_is_told_how_to_write_it(raw: str) -> None:
    with pytest.raises(FieldInvalid) as caught:
        fields.amount(raw)
    assert caught.value.reason == fields.SEPARATED_AMOUNT
    assert "'.' before any decimals" in fields.SEPARATED_AMOUNT
    assert "no thousands separator" in fields.SEPARATED_AMOUNT


def test_an_amount_of_other_text_is_not_a_number() -> None:
    with pytest.raises(FieldInvalid) as caught:
        fields.amount("twelve")
    assert caught.value.reason == "not a number"
