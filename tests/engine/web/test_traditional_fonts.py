"""Traditional Chinese pages are drawn with a Traditional Chinese font.

Han characters share code points across Simplified and Traditional Chinese, but not
glyphs: a font made for one draws some characters of the other in shapes its readers
do not write. A font the pages' style names for Simplified Chinese (``PingFang SC``,
on every Mac and iPhone) must not draw a Traditional page. Here fontconfig answers
that name with Noto Sans CJK SC, as a Mac answers it with PingFang SC.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import REPO, insert_customer
from sqlalchemy import Engine

from rapport.consent.links import links_for
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.web.app import create_app
from rapport.engine.web.server import BackgroundServer
from tests.conftest import CHROMIUM

SECRET = "fonts-test-secret"
FONTS = "Noto Sans CJK SC", "Noto Sans CJK TC"
#: The system's fonts, and the Mac's Simplified Chinese font name answered by Noto's.
MAC_LIKE = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <match target="pattern">
    <test name="family"><string>PingFang SC</string></test>
    <edit name="family" mode="assign" binding="same"><string>Noto Sans CJK SC</string></edit>
  </match>
</fontconfig>
"""


@pytest.fixture
def mac_like_browser(tmp_path: Path) -> Iterator[Any]:
    listing = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True).stdout
    if not Path(CHROMIUM).exists() or not all(font in listing for font in FONTS):
        pytest.skip("needs Chromium and fonts-noto-cjk (scripts/test.sh installs both)")
    conf = tmp_path / "fonts.conf"
    conf.write_text(MAC_LIKE, "utf-8")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu"],
            env={**os.environ, "FONTCONFIG_FILE": str(conf)},
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def server(engine: Engine) -> Iterator[BackgroundServer]:
    running = BackgroundServer(create_app(Settings(base_dir=REPO, secret_key=SECRET), engine))
    running.start()
    try:
        yield running
    finally:
        running.stop()


def drawn_with(page: Any, selector: str) -> set[str]:
    """The font families Chromium drew a node's text with (DevTools' platform fonts)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return {font["familyName"] for font in fonts}


@pytest.mark.parametrize(
    ("locale", "font"), [("zh_TW", "Noto Sans CJK TC"), ("zh_CN", "Noto Sans CJK SC")]
)
def test_each_chinese_script_is_drawn_with_its_own_font_where_a_mac_font_exists(
    engine: Engine, server: BackgroundServer, mac_like_browser: Any, locale: str, font: str
) -> None:
    insert_customer(
        engine, "ZH1", first_name="美玲", last_name="林", email="z@example.com", locale=locale
    )
    url = links_for("ZH1", "email", Settings(), Signer(SECRET))["preferences"]
    page = mac_like_browser.new_page()
    page.goto(url.replace(Settings().web.base_url, server.url))
    assert drawn_with(page, "h1") == {font}
    page.close()
