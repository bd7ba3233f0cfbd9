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
