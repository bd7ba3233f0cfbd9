"""A Taiwanese or Hong Kong customer is answered as a Traditional Chinese one: their
keywords are understood, and the sender settings for zh_Hant reach them."""

from __future__ import annotations

import pytest

from rapport.engine.core.keywords import KeywordAction, match_keyword
from rapport.engine.core.sender import for_locale


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("退訂", KeywordAction.STOP),
        ("訂閱", KeywordAction.START),
        ("幫助", KeywordAction.HELP),
        ("確認", KeywordAction.CONFIRM),
        ("退订", KeywordAction.STOP),  # Simplified still works
    ],
)
def test_traditional_keywords_are_understood(text: str, action: KeywordAction) -> None:
    found = match_keyword(text)
    assert found is not None and found.action is action


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("zh_TW", "繁"), ("zh-HK", "繁"), ("zh_MO", "繁"), ("zh_CN", "简"), ("zh", "简")],
)
def test_a_zh_hant_sender_setting_reaches_taiwan_hong_kong_and_macau(
    locale: str, expected: str
) -> None:
    assert for_locale({"zh": "简", "zh_Hant": "繁"}, locale) == expected


def test_a_territory_entry_still_wins_over_its_script() -> None:
    assert for_locale({"zh_Hant": "繁", "zh_HK": "港"}, "zh-HK") == "港"
