"""Holiday names made fit to print in the customer's language.

The ``holidays`` package's translations are written by volunteers and leak into
messages as they are: "قیام 15 خرداد" with Latin digits beside "۱۵ خرداد" in the same
e-mail, "عیدنوروز" without its space, "؛" glued to the next word. :func:`polish` fixes
what can be fixed by rule, per language:

- digits in the locale's own numbering system (CLDR's: Persian ``۰-۹`` in ``fa``,
  Arabic-Indic in ``ar_EG``, ASCII in ``zh`` and ``en``), through
  :func:`rapport.engine.core.i18n.localize_digits`;
- Persian: Arabic ``ي``/``ك`` written as the Persian ``ی``/``ک``, ``؛`` and ``،``
  followed by one space and never preceded by one, the known run-together words
  (:data:`SPACING`) split;
- Chinese: no spaces between Chinese characters, full-width ``；`` between names,
  the name a greeting uses where the calendar's is a bare date (:data:`GREETED_AS`);
- every language: one space between words, none at the ends.

:func:`join_names` joins the names of a day with the language's own separator.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from rapport.engine.core.i18n import localize_digits, numbering_system

#: Words the package's Persian catalog runs together, and how they are written.
SPACING = {
    "fa": {"عیدنوروز": "عید نوروز"},
}

#: Names a calendar gives that no one greets with, and the name a greeting uses: Hong
#: Kong's 1 January is officially 一月一日 ("一月一日快樂" reads as a date, not a wish),
#: its Chinese New Year days 農曆年初一 to 年初四 (the first of them a greeting names:
#: 年初二 when 年初一 falls on a Sunday), and its day off 復活節星期一 (Easter Monday:
#: one wishes 復活節快樂), Taiwan's 1 January 中華民國開國紀念日 (元旦), in both
#: scripts; Saudi Arabia's breaks, named "... Holiday"
#: (عطلة ...) on every day, greeted by the feast ("Happy Eid al-Adha", عيد الأضحى).
GREETED_AS = {
    "en": {
        "Eid al-Fitr Holiday": "Eid al-Fitr",
        "Eid al-Adha Holiday": "Eid al-Adha",
        "National Day Holiday": "National Day",
        "Founding Day Holiday": "Founding Day",
    },
    "ar": {"عطلة عيد الفطر": "عيد الفطر", "عطلة عيد الأضحى": "عيد الأضحى"},
    "zh": {
        "一月一日": "元旦",
        **{f"農曆年初{n}": "農曆新年" for n in "一二三四"},
        **{f"农历年初{n}": "农历新年" for n in "一二三四"},
        "復活節星期一": "復活節",
        "复活节星期一": "复活节",
        "中華民國開國紀念日": "元旦",
        "中华民国开国纪念日": "元旦",
    },
}

_SPACES = re.compile(r"\s+")
_FA_PUNCTUATION = re.compile(r"\s*([؛،])\s*")
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_SEPARATORS = {"fa": "؛ ", "ar": "؛ ", "zh": "；", "ja": "、"}


def _language(locale: str) -> str:
    return locale.replace("-", "_").split("_")[0].lower()


def polish(name: str, locale: str) -> str:
    """``name`` written the way ``locale``'s readers expect (see the module docstring)."""
    language = _language(locale)
    text = _SPACES.sub(" ", name).strip()
    for wrong, right in SPACING.get(language, {}).items():
        text = text.replace(wrong, right)
    text = GREETED_AS.get(language, {}).get(text, text)
    if language == "fa":
        text = text.replace("ي", "ی").replace("ك", "ک").replace(";", "؛")
        text = _FA_PUNCTUATION.sub(r"\1 ", text).strip()
    elif language == "zh":
        text = _cjk_gap().sub("", text)
    return localize_digits(text, numbering_system(locale))


@cache
def _cjk_gap() -> re.Pattern[str]:
    """Spaces between two CJK characters. Compiled at first use: its character ranges
    take 5-10 ms to compile, at every command's start otherwise."""
    return re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")


def join_names(names: Iterable[str], locale: str) -> str:
    """The names of one day, each polished, joined as the language joins a list."""
    separator = _SEPARATORS.get(_language(locale), "; ")
    return separator.join(polish(name, locale) for name in names)
