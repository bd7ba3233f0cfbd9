"""What the comments of the shipped config.yaml state as fact holds for the code.

config.yaml is what `rapport init` writes into every installation, and an operator
reads its comments before docs/configuration.md. Its sms_keywords block, headed "The
defaults:", is there to be uncommented and edited: a default word it leaves out (the
traditional Chinese 退訂) is a STOP word that, once copied, no longer withdraws
consent.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from rapport.channels.registry import BUILT_INS
from rapport.engine.core.keywords import STANDARD_KEYWORDS, KeywordAction, SMSKeywords

CONFIG = Path(__file__).resolve().parents[3] / "config.yaml"


def _comment_block_after(heading: str) -> str:
    """The commented lines following the comment line `# HEADING`, uncommented."""
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"# {heading}") + 1
    block = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        block.append(line[2:])
    return "\n".join(block)


def test_the_sms_keywords_block_headed_the_defaults_is_the_defaults() -> None:
    written = yaml.safe_load(_comment_block_after("The defaults:"))["sms_keywords"]
    defaults = SMSKeywords()
    assert {action: tuple(words) for action, words in written.items()} == {
        "stop": defaults.stop,
        "start": defaults.start,
        "help": defaults.help,
        "confirm": defaults.confirm,
    }


def test_the_english_words_are_listed_by_their_action() -> None:
    text = " ".join(
        line[2:] for line in CONFIG.read_text(encoding="utf-8").splitlines() if line[:2] == "# "
    )
    listed = re.search(r"cannot be removed: (.*?)\. A list", text)
    assert listed is not None
    groups = [group.split(", ") for group in listed.group(1).split("; ")]
    assert groups == [
        list(STANDARD_KEYWORDS[action])
        for action in (
            KeywordAction.STOP,
            KeywordAction.START,
            KeywordAction.HELP,
            KeywordAction.CONFIRM,
        )
    ]


def test_the_built_in_adapters_named_are_every_built_in() -> None:
    text = CONFIG.read_text(encoding="utf-8")
    named = re.search(r"built-ins \(([^)]*)\)", text)
    assert named is not None
    assert sorted(named.group(1).split(", ")) == sorted(BUILT_INS)
