"""Locale tags as templates use them: the fallback chain, the language, a name's order.

A message comes from the first template folder, in the order exact locale ->
language -> configured default locale, that holds *every* part the channel needs
(:func:`locale_chain` gives that order; the renderer checks the files). Parts are
never mixed across folders, so a Persian customer never gets an English subject over
a Persian body. The same chain picks the formatting locale (see
:mod:`rapport.engine.rendering.filters`), :func:`full_name` writes a customer's
name the way their own culture does, and :func:`salutation` greets them the way every
message in their language does (campaigns, pages, confirmation e-mails and SMS).

Tags are taken as customers' records spell them (``fa-ir``, ``zh_Hant_TW``) and
normalised here; a string that cannot be a locale (a path, say) never becomes a
folder name.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rapport.engine.core.i18n import with_script

__all__ = ["full_name", "language", "locale_chain", "normalise_locale", "salutation"]

_FAMILY_NAME_FIRST = frozenset({"zh", "ja", "ko"})
#: Kana, Hangul and Han, in and beyond the BMP: 々〆〇 (U+3005-U+3007) and the CJK
#: Extensions B-H (U+20000-U+323AF), whose rare characters are mostly people's and
#: places' names, are Han as much as 伟 is; the middle dots join a transcribed name.
_CJK_NAME = re.compile(
    r"[\u3005-\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    r"\U00020000-\U000323af\u00b7\u30fb]+"
)
_LOCALE_TAG = re.compile(r"^[A-Za-z]{2,8}([_-][A-Za-z0-9]{1,8})*$")


def full_name(first: str, last: str, locale: str) -> str:
    """The name as the customer's own culture writes it.

    Chinese, Japanese and Korean put the family name first with no space ('王伟');
    a Latin-script name keeps the given-name-first order even for a Chinese locale,
    because that is how its owner writes it.
    """
    first, last = (first or "").strip(), (last or "").strip()
    if not (first and last):
        return first or last
    if (
        language(locale) in _FAMILY_NAME_FIRST
        and _CJK_NAME.fullmatch(first)
        and _CJK_NAME.fullmatch(last)
    ):
        return last + first
    return f"{first} {last}"


#: The greeting per language, with the name and without it; other languages use "en".
_SALUTATIONS = {
    "en": ("Hi {first}", "Hello"),
    # Formal and gender-neutral, as Iranian businesses write to customers: the full name
    # then گرامی ("esteemed"); عزیز and the informal verb forms are for friends.
    "fa": ("{full} گرامی", "مشتری گرامی"),
    "ar": ("مرحبًا {first}", "مرحبًا"),
    # The full name, family name first ('王伟，您好'), never the given name alone.
    "zh": ("{full}，您好", "您好"),
}
_RTL = frozenset({"ar", "fa", "he", "ps", "ur", "ckb", "sd", "ug", "yi", "dv"})
RLM = "\u200f"
LRM = "\u200e"


def salutation(first: str, last: str, locale: str) -> str:
    """How a message in ``locale`` greets the customer, without the punctuation after it.

    'Hi Alex' (en), 'سارا احمدی گرامی' (fa, formal), 'مرحبًا ليلى' (ar), '王伟，您好' (zh,
    the full name as :func:`full_name` orders it: a Latin-script name keeps its owner's
    order). Without a name: 'Hello', 'مشتری گرامی', '您好'. In a right-to-left language a
    greeting whose first strong letter is not right-to-left (a Latin name) starts with
    U+200F RIGHT-TO-LEFT MARK, so a text that starts with it is still laid out RTL.
    """
    lang = language(locale)
    with_name, without = _SALUTATIONS.get(lang, _SALUTATIONS["en"])
    first, last = (first or "").strip(), (last or "").strip()
    full = full_name(first, last, locale)
    name = first or full
    if lang in _RTL:
        name, full = _held_left_to_right(name), _held_left_to_right(full)
    greeting = with_name.format(first=name, full=full) if full else without
    if lang in _RTL and not starts_rtl(greeting):
        greeting = RLM + greeting
    return greeting


def _held_left_to_right(name: str) -> str:
    """A name with Latin letters whose first or last character is punctuation ('Jr.',
    '(Tom)', 'Smith-'), with U+200E LEFT-TO-RIGHT MARK on that side: in a right-to-left
    greeting the punctuation would otherwise take the sentence's direction and be
    drawn on the wrong side of the name ('.Sara Ahmadi Jr', 'Smith )Tom(')."""
    kinds = [unicodedata.bidirectional(char) for char in name]
    if "L" not in kinds:
        return name
    strong = ("L", "R", "AL")
    before = "" if kinds[0] in strong else LRM
    after = "" if kinds[-1] in strong else LRM
    return before + name + after


def starts_rtl(text: str) -> bool:
    """Whether the first strong bidi character of ``text`` is right-to-left (R or AL)."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("L", "R", "AL"):
            return kind != "L"
    return False


@lru_cache(maxsize=1024)
def language(locale: str) -> str:
    """'fa-IR' -> 'fa'; cached, since a run asks for the same few locales per message."""
    return locale.replace("-", "_").split("_", 1)[0].lower()


def normalise_locale(locale: str) -> str | None:
    """'fa-ir' -> 'fa_IR'; None for a string that cannot be a locale (or a path)."""
    if not _LOCALE_TAG.match(locale):
        return None
    parts = locale.replace("-", "_").split("_")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())  # script: Hans, Latn
        elif len(part) == 2 or part.isdigit():
            out.append(part.upper())  # territory: IR, 419
        else:
            out.append(part)
    return "_".join(out)


def locale_chain(locale: str, default: str) -> list[str]:
    """Folders to try, most specific first: 'zh_Hant_TW' -> zh_Hant_TW, zh_Hant, zh, default.

    A tag without a script whose territory writes another script than its language's
    default gets CLDR's likely script after the tag itself
    (:func:`~rapport.engine.core.i18n.with_script`): 'zh_TW' -> zh_TW, zh_Hant_TW,
    zh_Hant, zh, default, and so does zh_HK and zh_MO, so a customer in Taiwan or Hong
    Kong reads the Traditional Chinese folder; 'zh_CN' -> zh_CN, zh, default.
    """
    chain: list[str] = []
    normalised = normalise_locale(locale)
    if normalised:
        chain.append(normalised)
        parts = with_script(normalised).split("_")
        for n in range(len(parts), 0, -1):
            if "_".join(parts[:n]) not in chain:
                chain.append("_".join(parts[:n]))
    if default not in chain:
        chain.append(default)
    return chain
