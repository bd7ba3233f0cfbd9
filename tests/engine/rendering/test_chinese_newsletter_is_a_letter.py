"""The Simplified Chinese newsletter calls itself a letter, not a text message.

It opened '给您写了一封短信': in mainland usage 短信 is an SMS, so an e-mail that says it
is one reads as a mistake (found by the native-reader tester); the Traditional
newsletter already wrote '寫了一封信'.
"""

from __future__ import annotations

from rapport.engine.campaigns.model import Campaign
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.core.config import Settings
from rapport.engine.rendering.renderer import Renderer


def test_the_chinese_newsletter_e_mail_is_a_letter_not_an_sms(
    renderer: Renderer, campaigns: dict[str, Campaign], settings: Settings
) -> None:
    campaign = campaigns["newsletter"]
    context = sample_context("zh_CN", campaign, settings=settings)
    mail = renderer.render(campaign.template_set, "email", "zh_CN", context)
    for part in (mail.text, mail.html or ""):
        assert "写了一封信" in part
        assert "短信" not in part
