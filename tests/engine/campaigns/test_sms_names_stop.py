"""An SMS's opt-out hint names the word STOP, not letters STOP inside another word:
"NONSTOP birthday deals" passed `campaigns validate`, and the dispatcher's safety net
(which adds the hint to a customer's first marketing SMS) took it for a hint too, so
that first SMS went out with no way to opt out."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.validate import validate_campaigns
from rapport.engine.core.config import Settings
from rapport.engine.delivery.outgoing import with_opt_out_hint

CAMPAIGN = """\
name: Promo
trigger:
  type: birthday
topic: birthday
channels: [sms]
"""


def sms_problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "promo.yaml").write_text(CAMPAIGN, encoding="utf-8")
    folder = tmp_path / "templates" / "promo" / "en"
    folder.mkdir(parents=True)
    (folder / "sms.txt").write_text(text, encoding="utf-8")
    problems = validate_campaigns(Settings(base_dir=tmp_path, locales={"supported": ["en"]}))
    return [problem.message for problem in problems]


@pytest.mark.parametrize("text", ["NONSTOP birthday deals!", "Sale! STOPPED by? Not us."])
def test_an_sms_naming_stop_only_inside_a_word_fails_validation(tmp_path: Path, text: str) -> None:
    assert sms_problems(tmp_path, text) == [
        "the SMS must carry an opt-out hint naming STOP (e.g. 'Reply STOP to opt out')"
    ]


@pytest.mark.parametrize("text", ["Reply STOP to opt out", "回复STOP退订", "لغو: STOP", "(STOP)"])
def test_an_sms_naming_the_word_stop_in_any_script_passes_validation(
    tmp_path: Path, text: str
) -> None:
    assert sms_problems(tmp_path, f"Happy birthday! {text}") == []


def test_the_first_sms_gets_the_hint_when_stop_is_only_inside_a_word() -> None:
    assert with_opt_out_hint("NONSTOP birthday deals!", "en") == (
        "NONSTOP birthday deals!\nReply STOP to opt out"
    )


def test_the_first_sms_gets_the_hint_when_it_only_says_stop_by() -> None:
    assert with_opt_out_hint("Stop by our shop today", "en") == (
        "Stop by our shop today\nReply STOP to opt out"
    )


@pytest.mark.parametrize("text", ["Happy birthday! Reply STOP to opt out", "生日快乐 回复STOP退订"])
def test_the_first_sms_naming_stop_is_left_as_it_is(text: str) -> None:
    assert with_opt_out_hint(text, "en") == text
