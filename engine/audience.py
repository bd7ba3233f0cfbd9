"""Audience rules: whether a customer is someone a campaign is meant for.

Pure: a function of the campaign's audience, the customer's profile and what the
planner derived for the day (stage, tier). Each miss names the rule that excluded
the customer, so ``rapport explain`` can say precisely why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapport.engine.campaigns import Audience

if TYPE_CHECKING:
    from rapport.engine.planner import CustomerProfile


@dataclass(frozen=True)
class AudienceMiss:
    """``code`` is the planner's reason code (``stage``, ``tier``, ...)."""

    code: str
    detail: str


def audience_miss(
    audience: Audience, customer: CustomerProfile, stage: str, tier: str
) -> AudienceMiss | None:
    """The first audience rule the customer fails, or None when they are in it."""
    if audience.stages is not None and stage not in audience.stages:
        return AudienceMiss("stage", f"stage {stage} is not targeted")
    if audience.tiers is not None and tier not in audience.tiers:
        return AudienceMiss("tier", f"tier {tier} is not targeted")
    if audience.countries is not None and (customer.country or "") not in audience.countries:
        return AudienceMiss("country", f"country {customer.country or 'unknown'} is not targeted")
    if audience.locales is not None and not _locale_matches(customer.locale, audience.locales):
        return AudienceMiss("locale", f"locale {customer.locale} is not targeted")
    return None


def _locale_matches(locale: str, wanted: list[str]) -> bool:
    language = locale.split("_")[0]
    return locale in wanted or language in wanted
