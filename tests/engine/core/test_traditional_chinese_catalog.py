"""Traditional Chinese (zh_Hant) as a UI language: which customers get it, and its catalog.

Issue 17, point 9: a zh-TW, zh-HK or zh-MO customer (or browser) is served the
Traditional Chinese catalog, never the Simplified one; a zh-CN or zh-SG one keeps
Simplified. The catalog itself holds no Simplified-only character.
"""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from rapport.engine.core.i18n import (
    DOMAIN,
    LOCALES_DIR,
    UI_LANGUAGES,
    from_accept_language,
    gettext,
    page_numbering_system,
    text_direction,
    ui_language,
    with_script,
)

#: Characters written only in Simplified Chinese, common in marketing and service text;
#: their Traditional forms are 們這說訂閱優個為會時間與實發對於來後裡麼讓進無還過
#: 簡訊帳戶請謝確認單碼費禮節樂歡郵級員. (惠 and 都 are the same in both scripts; 里
#: and 后 are real Traditional characters too, but none of our texts means them.)
SIMPLIFIED_ONLY = frozenset(
    "们这说订阅优个为会时间与实发对于来后里么让进无还过简讯账户请谢确认单码费礼节乐欢邮级员"
)


def simplified_in(text: str) -> set[str]:
    return {char for char in text if char in SIMPLIFIED_ONLY}


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("zh_TW", "zh_Hant_TW"),
        ("zh-hk", "zh_Hant_HK"),
        ("zh_MO", "zh_Hant_MO"),
        ("zh_CN", "zh_CN"),
        ("zh_SG", "zh_SG"),
        ("zh", "zh"),
        ("zh_Hant_TW", "zh_Hant_TW"),
        ("zh_Hans_HK", "zh_Hans_HK"),  # a script the record names wins
        ("fa_IR", "fa_IR"),
        ("sr_ME", "sr_Latn_ME"),
        ("../etc", "../etc"),
    ],
)
def test_with_script_adds_the_likely_script_cldr_gives_the_territory(
    locale: str, expected: str
) -> None:
    assert with_script(locale) == expected


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("zh_TW", "zh_Hant"),
        ("zh-TW", "zh_Hant"),
        ("zh_HK", "zh_Hant"),
        ("zh_MO", "zh_Hant"),
        ("zh_Hant", "zh_Hant"),
        ("zh-Hant", "zh_Hant"),  # the BCP 47 spelling pages link back with
        ("zh_Hant_HK", "zh_Hant"),
        ("zh", "zh"),
        ("zh_CN", "zh"),
        ("zh_SG", "zh"),
        ("zh_Hans_CN", "zh"),
        ("fa_IR", "fa"),
        ("ar_EG", "ar"),
        ("de_DE", "en"),
        (None, "en"),
    ],
)
def test_ui_language_serves_traditional_chinese_to_taiwan_hong_kong_and_macau(
    locale: str | None, language: str
) -> None:
    assert "zh_Hant" in UI_LANGUAGES
    assert ui_language(locale) == language


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-TW,zh;q=0.9,en;q=0.8", "zh_Hant"),
        ("zh-HK", "zh_Hant"),
        ("zh-Hant", "zh_Hant"),
        ("zh-CN,zh;q=0.9", "zh"),
        ("zh", "zh"),
        ("de-DE,zh-TW;q=0.5", "zh_Hant"),
        ("en-US,zh-TW;q=0.5", "en"),
    ],
)
def test_a_browser_asking_for_zh_tw_gets_the_traditional_pages(header: str, language: str) -> None:
    assert from_accept_language(header) == language


def test_traditional_chinese_pages_are_left_to_right_with_western_digits() -> None:
    assert text_direction("zh_Hant") == "ltr"
    assert page_numbering_system("zh_TW") == page_numbering_system("zh_HK") == "latn"


def test_the_catalog_holds_no_simplified_only_character() -> None:
    path = LOCALES_DIR / "zh_Hant" / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="zh_Hant")
    found = {message.id: simplified_in(str(message.string)) for message in catalog if message.id}
    assert {msgid: chars for msgid, chars in found.items() if chars} == {}
    # Taiwan and Hong Kong vocabulary, not a character-by-character conversion.
    strings = "".join(str(message.string) for message in catalog if message.id)
    for word in ("簡訊", "訊息", "退訂", "電子報", "行銷"):
        assert word in strings
    for mainland in ("短信", "信息", "营销", "營銷", "流量", "反饋"):
        assert mainland not in strings


def test_traditional_and_simplified_catalogs_differ() -> None:
    assert gettext("zh_Hant", "Unsubscribe") == "退訂"
    assert gettext("zh", "Unsubscribe") == "退订"
    assert gettext(ui_language("zh_TW"), "Newsletter") == "電子報"
