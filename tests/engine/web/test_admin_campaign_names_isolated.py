"""A campaign's name, which the marketer writes, cannot reorder what the admin pages show
after it: a right-to-left override (U+202E) left open in a name turned the campaign id
and '(paused)' beside it around on the list ('Spring sale' + U+202E drew
')desuap( gnirps' in place of 'spring (paused)'), and the id after it in the preview's
heading. The name is a bidi isolate (``<bdi>``), as a name in any script should be
beside Latin ids. Checked where the text is laid out: in Chromium."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from rapport.engine.campaigns.upcoming import Upcoming
from rapport.engine.planning.campaign_preview import CampaignPreview
from rapport.engine.web.campaign_pages import CampaignRow, campaign_page, campaigns_page

#: A name that leaves a right-to-left override open.
OVERRIDING = "Spring sale \u202e"

#: Where, left to right, the name (the container's first node) and the id after it
#: (its ``span.muted``) are drawn.
POSITIONS = """selector => {
  const box = node => { const r = document.createRange(); r.selectNodeContents(node);
    const rects = [...r.getClientRects()];
    return {left: Math.min(...rects.map(b => b.left)),
            right: Math.max(...rects.map(b => b.right))}; };
  const container = document.querySelector(selector);
  return {name: box(container.firstChild), id: box(container.querySelector('span.muted'))};
}"""


def _laid_out(browser: Any, tmp_path: Path, html: str, selector: str) -> dict[str, Any]:
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page()
    try:
        page.goto(path.as_uri())
        found: dict[str, Any] = page.evaluate(POSITIONS, selector)
    finally:
        page.close()
    return found


def test_a_name_s_override_does_not_turn_the_id_beside_it_around_on_the_list(
    browser: Any, tmp_path: Path
) -> None:
    row = CampaignRow(
        campaign_id="spring",
        name=OVERRIDING,
        topic="offers",
        channels=["email"],
        locales=["en"],
        paused=True,
        upcoming=Upcoming(rule="birthday", per_customer=True),
    )
    found = _laid_out(browser, tmp_path, campaigns_page([row], []), "tr.campaign td:first-child")
    assert found["id"]["left"] >= found["name"]["right"] - 0.5, found


def test_a_name_s_override_does_not_turn_the_id_in_the_heading_around(
    browser: Any, tmp_path: Path
) -> None:
    preview = CampaignPreview(
        campaign_id="spring",
        name=OVERRIDING,
        topic="offers",
        channels=["email"],
        rule="birthday",
        template_set="spring",
        customer_id=None,
        customer_locale=None,
        day=date(2026, 11, 26),
        note=None,
        locales=[],
    )
    found = _laid_out(browser, tmp_path, campaign_page(preview), "h1")
    assert found["id"]["left"] >= found["name"]["right"] - 0.5, found
