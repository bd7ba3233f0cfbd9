"""Chinese templates state a discount as 折, the tenths of the price paid: 8折 is 80%
of the price (20% off), 85折 85% (15% off, the usual two-digit form), 0.5折 5%.

The shipped zh and zh_Hant templates wrote the price paid in percent whenever it was
not a whole number of tenths, so a 95% discount read '5折' (half price) and a 91%
one '9折' (10% off); 12.5% off read '87.5折'. Every shipped Chinese part is rendered
with such discounts and read back the way a Chinese reader reads 折.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from factories import REPO

from rapport.engine.campaigns.model import Campaign, load_campaigns
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.campaigns.validate import template_kinds
from rapport.engine.core.config import Settings
from rapport.engine.rendering.renderer import Renderer

_SETTINGS = Settings(base_dir=REPO)
#: The shipped campaigns that offer a discount, with each kind of message they send.
CHANNELS = [
    (campaign.id, kind)
    for campaign in load_campaigns(_SETTINGS)[0]
    if campaign.offer.discount_percent is not None
    for kind in template_kinds(campaign, _SETTINGS)
]
ZHE = re.compile(r"(\d+(?:\.\d+)?)折")


def price_paid(zhe: str) -> Decimal:
    """The share of the price a reader pays for 'N折': one digit or a decimal are tenths
    (8折, 8.5折, 0.5折), two digits hundredths (85折)."""
    if "." not in zhe and len(zhe) == 2:
        return Decimal(zhe) / 100
    return Decimal(zhe) / 10


def with_discount(context: dict[str, Any], percent: Decimal) -> dict[str, Any]:
    return {**context, "offer": {**context["offer"], "discount_percent": percent}}


@pytest.mark.parametrize("percent", ["20", "15", "5", "12.5", "91", "95", "99"])
@pytest.mark.parametrize("locale", ["zh", "zh_Hant"])
@pytest.mark.parametrize(("campaign_id", "kind"), CHANNELS)
def test_a_chinese_discount_in_zhe_is_the_discount_offered(
    renderer: Renderer,
    campaigns: dict[str, Campaign],
    settings: Settings,
    campaign_id: str,
    kind: str,
    locale: str,
    percent: str,
) -> None:
    campaign = campaigns[campaign_id]
    context = sample_context(locale, campaign, settings=settings)
    assert "discount_percent" in context["offer"]
    context = with_discount(context, Decimal(percent))
    paid = 1 - Decimal(percent) / 100
    for template_set in campaign.template_sets():
        message = renderer.render(template_set, kind, locale, context)
        for part in (message.subject or "", message.text, message.html or ""):
            for zhe in ZHE.findall(part):
                assert price_paid(zhe) == paid, (template_set, kind, percent, zhe)


def test_the_shipped_campaigns_include_discounts_to_read_in_zhe() -> None:
    assert len({campaign_id for campaign_id, _ in CHANNELS}) >= 2


@pytest.mark.parametrize(("locale", "free"), [("zh", "免费"), ("zh_Hant", "免費")])
@pytest.mark.parametrize(("campaign_id", "kind"), CHANNELS)
def test_a_full_discount_reads_free_never_0_zhe(
    renderer: Renderer,
    campaigns: dict[str, Campaign],
    settings: Settings,
    campaign_id: str,
    kind: str,
    locale: str,
    free: str,
) -> None:
    # 100% off is nothing to pay: '0折' reads as a price of zero tenths, which no shop
    # writes; the templates computed it so before the zhe filter.
    campaign = campaigns[campaign_id]
    context = with_discount(sample_context(locale, campaign, settings=settings), Decimal(100))
    for template_set in campaign.template_sets():
        message = renderer.render(template_set, kind, locale, context)
        parts = (message.subject or "", message.text, message.html or "")
        assert not any(ZHE.findall(part) for part in parts), (template_set, kind)
        assert any(free in part for part in parts), (template_set, kind)
