"""A customer with a single order is thanked for it in the singular.

A tier is reached with one large order (350 USD makes a VIB), so the tier-reached
e-mail, and the birthday e-mail's VIB and Rouge paragraph, go to customers whose
``order_count`` is 1: "Thank you for 1 orders" reads as a form letter gone wrong.
Every shipped English part is rendered with one order in every tier.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from factories import REPO

from rapport.engine.campaigns.model import Campaign, load_campaigns
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.campaigns.validate import template_kinds
from rapport.engine.core.config import Settings
from rapport.engine.rendering.renderer import Renderer

_SETTINGS = Settings(base_dir=REPO)
CHANNELS = [
    (campaign.id, kind)
    for campaign in load_campaigns(_SETTINGS)[0]
    for kind in template_kinds(campaign, _SETTINGS)
]
#: A count of one before a plural noun ("1 orders", "1 days"), in any digits.
ONE_PLURAL = re.compile(r"(?<![\d.,])1 (orders|days|years|items|purchases)\b")


def with_one_order(context: dict[str, Any], tier: str) -> dict[str, Any]:
    customer = {**context["customer"], "order_count": 1, "tier": tier}
    return {**context, "customer": customer}


@pytest.mark.parametrize("tier", ["insider", "vib", "rouge"])
@pytest.mark.parametrize(("campaign_id", "kind"), CHANNELS)
def test_one_order_is_never_counted_as_plural_orders(
    renderer: Renderer,
    campaigns: dict[str, Campaign],
    settings: Settings,
    campaign_id: str,
    kind: str,
    tier: str,
) -> None:
    campaign = campaigns[campaign_id]
    context = with_one_order(sample_context("en", campaign, settings=settings), tier)
    for template_set in campaign.template_sets():
        message = renderer.render(template_set, kind, "en", context)
        for part in (message.subject or "", message.text, message.html or ""):
            assert not ONE_PLURAL.search(part), (template_set, kind, tier, part)
