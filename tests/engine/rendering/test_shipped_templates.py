"""The shipped templates, rendered in every locale for the sample customers.

These use the real ``templates/`` folder and the repository's campaigns, so a broken
shipped template fails here first; the sample context they are rendered with is real
data of the customer's script.
"""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from rapport.engine.campaigns.model import Campaign
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.core.config import Settings
from rapport.engine.rendering.plain import check_plain
from rapport.engine.rendering.renderer import Renderer

PERSIAN = re.compile(r"[\u0600-\u06ff]")
HAN = re.compile(r"[\u4e00-\u9fff]")
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


class TagBalance(HTMLParser):
    """Just enough of an HTML checker to catch an unclosed or stray tag."""

    VOID = frozenset({"meta", "br", "img", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unexpected </{tag}>")


# --------------------------------------------------------------------------- shipped templates


@pytest.mark.parametrize("campaign_id", ["birthday", "holiday-offer", "reorder"])
@pytest.mark.parametrize("locale", ["en", "fa", "zh"])
def test_shipped_campaigns_render_in_every_locale(
    renderer: Renderer,
    campaigns: dict[str, Campaign],
    settings: Settings,
    campaign_id: str,
    locale: str,
) -> None:
    campaign = campaigns[campaign_id]
    ctx = sample_context(locale, campaign, settings=settings)
    mail = renderer.render(campaign.template_set, "email", locale, ctx)
    sms = renderer.render(campaign.template_set, "sms", locale, ctx)

    assert mail.locale == sms.locale == locale
    assert mail.subject and "\n" not in mail.subject
    assert mail.html is not None and mail.html.startswith("<!DOCTYPE html>")
    for body in (mail.text, mail.html):
        assert ctx["links"]["preferences"] in body
        assert ctx["links"]["unsubscribe"] in body
        assert ctx["sender"]["postal_address"] in body
    checker = TagBalance()
    checker.feed(mail.html)
    assert checker.errors == [] and checker.stack == []

    if locale == "fa":
        assert '<html dir="rtl" lang="fa">' in mail.html
        assert "سارا" in mail.subject and "سارا" in mail.text and "سارا" in mail.html
        for text in (mail.subject, mail.text, sms.text):
            assert PERSIAN.search(text)
        assert sms.text.endswith("لغو: STOP")
        assert len(sms.text) <= 100
    elif locale == "zh":
        assert '<html lang="zh">' in mail.html
        assert "王伟" in mail.subject and "王伟" in mail.text and "王伟" in mail.html
        for text in (mail.subject, mail.text, sms.text):
            assert HAN.search(text)
        assert sms.text.endswith("回复STOP退订")
        assert len(sms.text) <= 70  # one UCS-2 segment
    else:
        assert '<html lang="en">' in mail.html
        assert "Alex" in mail.subject and "Alex" in mail.text
        assert sms.text.endswith("Reply STOP to opt out")
        assert len(sms.text) <= 160 and set(sms.text) <= GSM7  # one GSM-7 segment


def test_shipped_templates_use_the_offer_holiday_and_reorder_data(
    renderer: Renderer, campaigns: dict[str, Campaign], settings: Settings
) -> None:
    def render(campaign_id: str, locale: str) -> str:
        campaign = campaigns[campaign_id]
        ctx = sample_context(locale, campaign, settings=settings)
        return renderer.render(campaign.template_set, "email", locale, ctx).text

    assert "15% off" in render("birthday", "en")
    assert "۱۵٪ تخفیف" in render("birthday", "fa")  # Persian digits and percent sign
    assert "85折" in render("birthday", "zh")  # 15% off, said the Chinese way
    assert "Happy Thanksgiving Day!" in render("holiday-offer", "en")
    assert "نوروز مبارک" in render("holiday-offer", "fa")
    assert "۱ فروردین ۱۴۰۵" in render("holiday-offer", "fa")  # Solar Hijri date
    assert "春节快乐" in render("holiday-offer", "zh")
    assert "SERUM-30ML on September 6, 2025" in render("reorder", "en")
    assert "۱۵ شهریور ۱۴۰۴" in render("reorder", "fa")
    assert "2025年9月6日" in render("reorder", "zh")


# --------------------------------------------------------------------------- sample data


def test_sample_context_is_plain_realistic_data(campaigns: dict[str, Campaign]) -> None:
    fa = sample_context("fa_IR", campaigns["birthday"])
    check_plain(fa)
    assert (fa["customer"]["first_name"], fa["customer"]["last_name"]) == ("سارا", "احمدی")
    assert fa["customer"]["locale"] == "fa_IR"
    assert fa["occasion"]["kind"] == "birthday"
    assert fa["offer"] == {"discount_percent": 15}

    zh = sample_context("zh", campaigns["holiday-offer"])
    assert zh["customer"]["full_name"] == "王伟"
    assert zh["occasion"]["name"] == "春节"

    en = sample_context("en", campaigns["reorder"])
    assert en["customer"]["full_name"] == "Alex Morgan"
    assert isinstance(en["customer"]["lifetime_value"], Decimal)
    occasion = en["occasion"]
    assert occasion["sku"] == "SERUM-30ML"
    assert (occasion["date"] - occasion["last_ordered_at"]).days == 30
    assert en["offer"] == {}
