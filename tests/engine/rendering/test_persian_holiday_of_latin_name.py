"""A Persian e-mail that greets a holiday named in Latin letters still reads right to left.

A Persian reader in the United States or Germany is greeted on that country's holidays,
whose calendars have no Persian names: occasion.name is 'Thanksgiving Day'. The
holiday offer's SMS and subject put a Persian word before it (جشن, مناسبت), but the
e-mail's text opened its greeting line with the name, and a line whose first strong
letter is Latin is laid out left to right: 'Thanksgiving Day مبارک! امیدواریم ...'
read from the right as 'مبارک! امیدواریم ... Thanksgiving Day'. Every line of the
letter (above the footer, whose links and postal address stand on lines of their own)
must open right to left (the Unicode bidi algorithm's first strong character, P2).
"""

from __future__ import annotations

import unicodedata

import pytest

from rapport.engine.campaigns.model import Campaign
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.core.config import Settings
from rapport.engine.rendering.renderer import Renderer


def first_strong(line: str) -> str | None:
    for char in line:
        kind = unicodedata.bidirectional(char)
        if kind in ("L", "R", "AL"):
            return kind
    return None


@pytest.mark.parametrize(
    ("name", "tone"), [("Thanksgiving Day", "celebration"), ("Memorial Day", "observance")]
)
def test_every_line_of_the_persian_letter_opens_right_to_left_whatever_the_holiday_s_name(
    renderer: Renderer,
    campaigns: dict[str, Campaign],
    settings: Settings,
    name: str,
    tone: str,
) -> None:
    campaign = campaigns["holiday-offer"]
    context = sample_context("fa_IR", campaign, settings=settings)
    context["occasion"] = {**context["occasion"], "name": name, "tone": tone}
    if tone != "celebration":
        context["offer"] = {}
    text = renderer.render(campaign.template_set, "email", "fa_IR", context).text
    letter = text.split("\n---\n")[0]
    for line in filter(None, (line.strip() for line in letter.splitlines())):
        assert first_strong(line) in ("R", "AL"), line
