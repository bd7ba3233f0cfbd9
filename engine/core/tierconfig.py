"""``tiers`` of config.yaml: loyalty tiers by trailing 12-month spend, in one base
currency (engine/customers/lifecycle.py computes them). Apart from
:mod:`rapport.engine.core.config`, which imports both models, to keep each module
readable at once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from rapport.engine.core.yamlsource import Strict

__all__ = ["TierConfig", "TierLevel"]


class TierLevel(Strict):
    name: str
    min_spend: Decimal = Field(ge=0)


class TierConfig(Strict):
    """Loyalty tiers by trailing 12-month spend, in one base currency.

    Orders arrive in many currencies; ``rates`` converts each into the base currency
    (units of base currency per unit). Operators keep these rates current.
    """

    base_currency: str = "USD"
    #: Never negative: 'EUR: -1.08' made every EUR order lower a customer's spend.
    rates: dict[str, Annotated[Decimal, Field(ge=0)]] = Field(
        default_factory=lambda: {"USD": Decimal(1)}
    )
    levels: list[TierLevel] = Field(
        default_factory=lambda: [
            TierLevel(name="insider", min_spend=Decimal(0)),
            TierLevel(name="vib", min_spend=Decimal(350)),
            TierLevel(name="rouge", min_spend=Decimal(1000)),
        ]
    )

    @field_validator("rates")
    @classmethod
    def _base_is_one(cls, rates: dict[str, Decimal], info: ValidationInfo) -> dict[str, Decimal]:
        """'USD: 0' beside 'base_currency: USD' made every USD order count no spend."""
        base = info.data.get("base_currency")
        if isinstance(base, str) and (rate := rates.get(base)) is not None and rate != 1:
            raise ValueError(
                f"{base} is the base currency, worth 1 {base} by definition, not {rate}: "
                f"write {base}: 1 or leave it out"
            )
        return rates

    @field_validator("levels")
    @classmethod
    def _ascending(cls, levels: list[TierLevel]) -> list[TierLevel]:
        if not levels:
            raise ValueError("at least one tier level is needed")
        names = [level.name for level in levels]
        if any(not name.strip() for name in names):
            raise ValueError("a tier needs a name: campaigns and offers name it")
        if padded := [name for name in names if name != name.strip()]:
            raise ValueError(
                f"tier {padded[0]!r} has a space at its start or end: campaigns and offers "
                "name it without"
            )
        if twice := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(
                f"tier {twice[0]!r} is listed twice: a customer is in one tier, "
                "which campaigns and offers name"
            )
        spends = [level.min_spend for level in levels]
        if spends != sorted(spends):
            raise ValueError("levels must be listed by ascending min_spend")
        return levels
