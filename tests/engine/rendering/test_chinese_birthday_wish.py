"""A Chinese birthday SMS closes with a birthday wish, never a New Year one.

新岁顺意 ("may the new year go your way") is what one writes at the Spring Festival; a
birthday message closes with 岁岁安康 ("well, year after year"), in Simplified and in
Traditional characters alike (54a0328 changed the Simplified SMS only).
"""

from __future__ import annotations

import pytest

from rapport.engine.campaigns.model import Campaign
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.core.config import Settings
from rapport.engine.rendering.renderer import Renderer

#: Per customer locale: the birthday wish, and the New Year wish it must not be.
WISHES = {
    "zh_CN": ("岁岁安康", "新岁"),
    "zh_TW": ("歲歲安康", "新歲"),
    "zh_HK": ("歲歲安康", "新歲"),
}


@pytest.mark.parametrize("locale", sorted(WISHES))
def test_the_chinese_birthday_sms_wishes_a_birthday_not_a_new_year(
    renderer: Renderer, campaigns: dict[str, Campaign], settings: Settings, locale: str
) -> None:
    campaign = campaigns["birthday"]
    context = sample_context(locale, campaign, settings=settings)
    text = renderer.render(campaign.template_set, "sms", locale, context).text
    birthday_wish, new_year_wish = WISHES[locale]
    assert birthday_wish in text
    assert new_year_wish not in text
