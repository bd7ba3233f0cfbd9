"""SMS keywords: which inbound texts mean STOP, START, HELP or YES (confirm).

Pure: no web framework, no database. The SMS webhook
(:mod:`rapport.engine.web.sms_inbound`) decides what a matched keyword does; this
module only says whether a message *is* a keyword.

The whole message must be a keyword (compared after NFKC, trimming, collapsing
spaces, dropping punctuation around it and case-folding), so "please stop the
birthday texts" is not a STOP: other inbound text is not ours to answer.

* STOP words: STOP, STOPALL, QUIT, END, REVOKE, OPT OUT, OPTOUT, CANCEL,
  UNSUBSCRIBE, plus :class:`SMSKeywords` local words.
* START words: START, UNSTOP, plus local words.
* HELP words: HELP, INFO, plus local words.
* CONFIRM words: YES, plus local words (default بله, آره, 确认, 是): the reply that
  confirms a pending SMS opt-in (the preference centre's "reply YES" text).

The English words are always honoured; local words come from the ``sms_keywords:``
section of config.yaml (``Settings.sms_keywords``), defaulting to Persian and
Chinese words.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from pydantic import field_validator, model_validator

from rapport.engine.core.yamlsource import Strict

#: Keywords become part of the consent wording (``keyword:<WORD>``, 200 characters).
MAX_KEYWORD_LENGTH = 40

# Persian typed on an Arabic keyboard: the same word with Arabic yeh/kaf must match.
# The tatweel (U+0640) only stretches a joined letter (بلـه is بله): it is dropped.
_ARABIC_TO_PERSIAN = str.maketrans(
    {"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9", "\u0640": None}
)


class KeywordAction(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"
    #: "Reply YES to confirm": turns a pending SMS opt-in into a grant.
    CONFIRM = "confirm"


STANDARD_KEYWORDS: dict[KeywordAction, tuple[str, ...]] = {
    KeywordAction.STOP: (
        "STOP",
        "STOPALL",
        "QUIT",
        "END",
        "REVOKE",
        "OPT OUT",
        "OPTOUT",
        "CANCEL",
        "UNSUBSCRIBE",
    ),
    KeywordAction.START: ("START", "UNSTOP"),
    KeywordAction.HELP: ("HELP", "INFO"),
    KeywordAction.CONFIRM: ("YES",),
}


def _ascii_digit(char: str) -> str:
    """A decimal digit of any script (Persian ۱, Arabic-Indic ١) as its ASCII digit."""
    digit = unicodedata.decimal(char, None)
    return char if digit is None else str(digit)


def normalise_keyword(text: str) -> str:
    """The comparable form of a message: how a person typed it must not matter.

    NFKC folds full-width forms (``ＳＴＯＰ``) and presentation forms; format
    characters (direction marks some phones insert) go; inner spaces collapse;
    punctuation around the word goes, trailing (``STOP.``, ``退订。``) and leading (the
    quotes our own texts put around it, copied: ``«لغو»``, ``"确认"``); case folds;
    Arabic yeh and kaf become their Persian forms and the tatweel (a stretching
    stroke) goes; a digit of any script is its ASCII digit (``۱۱`` and ``١١`` are ``11``).
    """
    text = unicodedata.normalize("NFKC", text)
    text = "".join(_ascii_digit(char) for char in text if unicodedata.category(char) != "Cf")
    text = " ".join(text.split())
    while text and (unicodedata.category(text[-1]).startswith("P") or text[-1].isspace()):
        text = text[:-1]
    while text and (unicodedata.category(text[0]).startswith("P") or text[0].isspace()):
        text = text[1:]
    return text.casefold().translate(_ARABIC_TO_PERSIAN)


def script_language(word: str) -> str | None:
    """The UI language a keyword's script suggests: Arabic script -> fa, Han -> zh."""
    for char in word:
        name = unicodedata.name(char, "")
        if name.startswith(("ARABIC", "PERSIAN")):
            return "fa"
        if name.startswith("CJK"):
            return "zh"
    return None


@dataclass(frozen=True, slots=True)
class Keyword:
    """A matched keyword: what to do, the word as configured (for the evidence), and
    the language its script suggests."""

    action: KeywordAction
    word: str
    language: str | None


def _build_table(words: Mapping[KeywordAction, Iterable[str]]) -> dict[str, Keyword]:
    table: dict[str, Keyword] = {}
    for action, listed in words.items():
        for word in listed:
            key = normalise_keyword(word)
            known = table.get(key)
            if known is not None and known.action is not action:
                raise ValueError(f"keyword {word!r} is both a {known.action} and a {action} word")
            table.setdefault(key, Keyword(action, word, script_language(word)))
    return table


#: The local words Rapport's own SMS replies name as such (the HELP reply and the
#: replies after START and YES in engine/core/locales: «لغو», «راهنما», «شروع»;
#: “退订” or TD, “帮助”, “订阅”): honoured whatever ``sms_keywords`` lists, or a
#: customer who sent what the text said would be neither opted out nor answered.
REPLIED_KEYWORDS: dict[KeywordAction, tuple[str, ...]] = {
    KeywordAction.STOP: ("لغو", "退订", "TD"),
    KeywordAction.START: ("شروع", "订阅"),
    KeywordAction.HELP: ("راهنما", "帮助"),
}


class SMSKeywords(Strict):
    """Local-language keywords, honoured on top of the standard English ones.

    The English words (:data:`STANDARD_KEYWORDS`) are always honoured: carriers
    require them, so configuration can add words but never remove STOP. This is the
    ``sms_keywords:`` section of config.yaml; a list given there replaces the
    default local words for that action.

    ``confirm`` is the YES list (not called ``yes``: YAML 1.1 reads a ``yes:`` key as
    the boolean true). The first word of a script is the one the confirmation text
    asks a customer of that language to reply (:func:`reply_word`): Persian ``بله``
    (the ordinary "yes" to a request; the colloquial ``آره`` is also honoured),
    Chinese ``确认`` (what Chinese confirmation texts ask for: 回复"确认"; a bare ``是``
    is also honoured).
    """

    stop: tuple[str, ...] = ("لغو", "توقف", "انصراف", "退订", "退訂", "TD", "取消")
    start: tuple[str, ...] = ("شروع", "订阅", "訂閱")
    help: tuple[str, ...] = ("راهنما", "帮助", "幫助")
    confirm: tuple[str, ...] = ("بله", "آره", "确认", "確認", "是")

    @field_validator("stop", "start", "help", "confirm")
    @classmethod
    def _usable(cls, words: tuple[str, ...]) -> tuple[str, ...]:
        for word in words:
            if not normalise_keyword(word):
                raise ValueError("a keyword must contain letters, not only spaces or punctuation")
            if len(word) > MAX_KEYWORD_LENGTH:
                raise ValueError(f"keyword longer than {MAX_KEYWORD_LENGTH} characters")
        return words

    @model_validator(mode="after")
    def _distinct(self) -> SMSKeywords:
        keyword_table(self)
        return self

    def words(self) -> dict[KeywordAction, tuple[str, ...]]:
        """Per action: the English words, the configured ones, then those our own
        replies ask for (:data:`REPLIED_KEYWORDS`), each once."""
        configured = {
            KeywordAction.STOP: self.stop,
            KeywordAction.START: self.start,
            KeywordAction.HELP: self.help,
            KeywordAction.CONFIRM: self.confirm,
        }
        return {
            action: tuple(
                dict.fromkeys(STANDARD_KEYWORDS[action] + listed + REPLIED_KEYWORDS.get(action, ()))
            )
            for action, listed in configured.items()
        }


@lru_cache(maxsize=8)
def keyword_table(keywords: SMSKeywords) -> dict[str, Keyword]:
    """Normalised word -> keyword; built once per configuration, not per message."""
    return _build_table(keywords.words())


DEFAULT_KEYWORDS = SMSKeywords()


def match_keyword(text: str, keywords: SMSKeywords = DEFAULT_KEYWORDS) -> Keyword | None:
    """The keyword the whole message is, or None for any other text."""
    return keyword_table(keywords).get(normalise_keyword(text))


def reply_word(
    action: KeywordAction, language: str, keywords: SMSKeywords = DEFAULT_KEYWORDS
) -> str:
    """The word a text in ``language`` asks the customer to reply for ``action``.

    The first configured local word whose script suggests ``language`` (``بله`` for
    Persian, ``确认`` for Chinese with the defaults), else the first standard English
    word (``YES``): a message never asks for a word that would not be honoured.
    """
    local = keywords.words()[action][len(STANDARD_KEYWORDS[action]) :]
    for word in local:
        if script_language(word) == language:
            return word
    return STANDARD_KEYWORDS[action][0]
