"""The words Rapport's own Persian and Chinese SMS replies ask a customer to send are
honoured whatever ``sms_keywords`` lists, as the English ones are. The HELP reply and
the replies after START and YES say «لغو» to opt out and «راهنما» for help (Persian),
“退订” or TD and “帮助” (Chinese); with ``sms_keywords.stop: [توقف]`` written in
config.yaml, a customer who sent «لغو» as told was not opted out and got no reply."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.core.config import load_settings
from rapport.engine.core.keywords import KeywordAction, match_keyword


@pytest.mark.parametrize(
    ("written", "sent", "action"),
    [
        ("stop: [توقف]", "لغو", KeywordAction.STOP),
        ("stop: [BASTA]", "退订", KeywordAction.STOP),
        ("stop: [BASTA]", "TD", KeywordAction.STOP),
        ("help: [کمک]", "راهنما", KeywordAction.HELP),
        ("help: [HILFE]", "帮助", KeywordAction.HELP),
        ("start: [آغاز]", "شروع", KeywordAction.START),
        ("start: [BEGIN]", "订阅", KeywordAction.START),
    ],
)
def test_a_word_our_replies_ask_for_is_honoured_whatever_the_list(
    tmp_path: Path, written: str, sent: str, action: KeywordAction
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"sms_keywords:\n  {written}\n", encoding="utf-8")
    keywords = load_settings(config, environ={}).sms_keywords
    found = match_keyword(sent, keywords)
    assert found is not None and found.action is action


def test_the_configured_word_stays_the_one_our_texts_ask_for(tmp_path: Path) -> None:
    from rapport.engine.core.keywords import reply_word

    config = tmp_path / "config.yaml"
    config.write_text("sms_keywords:\n  stop: [توقف]\n", encoding="utf-8")
    keywords = load_settings(config, environ={}).sms_keywords
    assert reply_word(KeywordAction.STOP, "fa", keywords) == "توقف"
