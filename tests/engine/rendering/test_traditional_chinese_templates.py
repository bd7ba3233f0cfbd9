"""The shipped Traditional Chinese (zh_Hant) templates, and who gets them.

Issue 17, point 9: a customer whose locale is zh_TW, zh_HK or zh_MO (no script in the
record) reads the zh_Hant folder, never the Simplified zh one; every shipped campaign
has a zh_Hant folder with the same parts and the same variables as zh, whose text
holds no Simplified-only character, and whose SMS costs no more segments than zh's.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from factories import REPO

from rapport.engine.campaigns.model import Campaign
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.core.config import Settings
from rapport.engine.rendering.locales import locale_chain, salutation
from rapport.engine.rendering.renderer import Renderer
from rapport.engine.rendering.sms_encoding import count_sms
from tests.engine.core.test_traditional_chinese_catalog import simplified_in

TEMPLATES = REPO / "templates"
#: Every template set with a Simplified Chinese folder must have a Traditional one.
SETS = sorted(path.parent.name for path in TEMPLATES.glob("*/zh") if path.is_dir())
#: Names a template reads: customer.full_name, offer.code, links.preferences ...
VARIABLE = re.compile(r"\b(?:customer|offer|occasion|links|sender|product|store)\.\w+")


@pytest.mark.parametrize(
    ("locale", "chain"),
    [
        ("zh_TW", ["zh_TW", "zh_Hant_TW", "zh_Hant", "zh", "en"]),
        ("zh-HK", ["zh_HK", "zh_Hant_HK", "zh_Hant", "zh", "en"]),
        ("zh_MO", ["zh_MO", "zh_Hant_MO", "zh_Hant", "zh", "en"]),
        ("zh_Hant_TW", ["zh_Hant_TW", "zh_Hant", "zh", "en"]),
        ("zh_CN", ["zh_CN", "zh", "en"]),
        ("zh_SG", ["zh_SG", "zh", "en"]),
    ],
)
def test_taiwan_hong_kong_and_macau_reach_the_traditional_folder(
    locale: str, chain: list[str]
) -> None:
    assert locale_chain(locale, "en") == chain


def test_traditional_chinese_greets_as_chinese_does() -> None:
    # The Chinese salutation: the full name, family name first, never the given name alone.
    assert salutation("偉", "陳", "zh_TW") == "陳偉，您好"
    assert salutation("", "", "zh_HK") == "您好"


def test_every_set_with_a_zh_folder_has_a_zh_hant_folder_of_the_same_parts() -> None:
    assert "_partials" in SETS and "holiday-offer" in SETS
    for name in SETS:
        zh = sorted(p.name for p in (TEMPLATES / name / "zh").iterdir())
        hant = sorted(p.name for p in (TEMPLATES / name / "zh_Hant").iterdir())
        assert hant == zh, name


@pytest.mark.parametrize("name", SETS)
def test_zh_hant_files_read_the_same_variables_and_hold_no_simplified_text(name: str) -> None:
    for path in sorted((TEMPLATES / name / "zh_Hant").iterdir()):
        text = path.read_text(encoding="utf-8")
        simplified = (TEMPLATES / name / "zh" / path.name).read_text(encoding="utf-8")
        assert set(VARIABLE.findall(text)) == set(VARIABLE.findall(simplified)), path
        assert simplified_in(text) == set(), path
        # The Traditional layout and footer, not the Simplified ones.
        assert "_partials/zh/" not in text, path


def traditional_context(locale: str, campaign: Campaign, settings: Settings) -> dict[str, Any]:
    """The sample context, with a customer and holiday written in Traditional characters
    as a Taiwanese customer's record and holiday name are."""
    ctx = sample_context(locale, campaign, settings=settings)
    ctx["customer"] = {
        **ctx["customer"],
        "first_name": "偉",
        "last_name": "陳",
        "full_name": "陳偉",
        "salutation": salutation("偉", "陳", locale),
    }
    if ctx.get("occasion", {}).get("name"):
        ctx["occasion"] = {**ctx["occasion"], "name": "春節"}
    return ctx


def rendered_parts(
    renderer: Renderer, campaign: Campaign, locale: str, ctx: dict[str, Any]
) -> dict[str, Any]:
    parts: dict[str, Any] = {"email": renderer.render(campaign.template_set, "email", locale, ctx)}
    if (TEMPLATES / campaign.template_set / "zh_Hant" / "sms.txt").exists():
        parts["sms"] = renderer.render(campaign.template_set, "sms", locale, ctx)
    return parts


@pytest.mark.parametrize("locale", ["zh_TW", "zh_HK", "zh_MO", "zh_Hant"])
def test_every_shipped_campaign_renders_in_traditional_chinese(
    renderer: Renderer,
    campaigns: dict[str, Campaign],
    settings: Settings,
    locale: str,
) -> None:
    for campaign in campaigns.values():
        ctx = traditional_context(locale, campaign, settings)
        for channel, message in rendered_parts(renderer, campaign, locale, ctx).items():
            assert message.locale == "zh_Hant", (campaign.id, channel)
            for text in (message.subject, message.text, message.html):
                if text:
                    assert simplified_in(text) == set(), (campaign.id, channel, text)
            if channel == "email":
                assert message.subject and "陳偉" in message.subject + message.text
                assert message.html is None or '<html lang="zh-Hant">' in message.html
                assert ctx["links"]["unsubscribe"] in message.text
                assert "退訂" in message.text
            else:
                # The signature first, as Chinese SMS are signed, and an opt-out.
                assert message.text.startswith(ctx["sender"]["sms_signature"])
                assert "回覆STOP退訂" in message.text


@pytest.mark.parametrize("locale", ["zh_TW", "zh_HK"])
def test_a_traditional_sms_costs_no_more_segments_than_the_simplified_one(
    renderer: Renderer,
    campaigns: dict[str, Campaign],
    settings: Settings,
    locale: str,
) -> None:
    for campaign in campaigns.values():
        if not (TEMPLATES / campaign.template_set / "zh_Hant" / "sms.txt").exists():
            continue
        ctx = sample_context(locale, campaign, settings=settings)
        hant = count_sms(renderer.render(campaign.template_set, "sms", locale, ctx).text)
        hans = count_sms(renderer.render(campaign.template_set, "sms", "zh_CN", ctx).text)
        assert hant.encoding == "UCS-2"  # 70 characters a segment, 67 once split
        assert hant.segments <= hans.segments, campaign.id
        if campaign.sms_max_segments is not None:
            assert hant.segments <= campaign.sms_max_segments, campaign.id


def test_config_yaml_supports_zh_hant_so_validate_renders_it() -> None:
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    assert "zh_Hant" in config["locales"]["supported"]
