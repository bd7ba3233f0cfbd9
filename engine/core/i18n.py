"""The product's own words in the customer's language: gettext catalogs via Babel.

Strings the product itself shows (preference centre, unsubscribe pages, SMS keyword
replies, confirmation e-mails) are written in English in the source and translated in
``engine/core/locales/<lang>/LC_MESSAGES/messages.po``. The .po files are compiled in
memory when first used, so there is no build step to forget.

The UI languages are English plus every language that has a catalog: adding one is
adding its ``messages.po`` (see docs/localization.md), with no list to update here.
Text direction comes from CLDR, so a right-to-left language (Persian, Arabic,
Hebrew, Urdu) gets ``dir="rtl"`` without being named anywhere.

Digits follow CLDR too: :func:`numbering_system` is a locale's default numbering
system (``arabext`` for Persian, ``arab`` for Egyptian or Saudi Arabic, ``latn`` for
plain ``ar``, as CLDR has it), and the catalog of a UI language is read through
:func:`translations` for one numbering system, so a translated sentence never shows
other digits than the page around it ("۰ = ..." in Persian whatever the translator typed).
Values put into a sentence (a name, a link, an address) are left as they are.

A UI language may name a script as well as a language: ``zh_Hant`` (Traditional
Chinese) is its own catalog beside ``zh`` (Simplified). A customer locale without a
script gets the one CLDR's likely subtags give its territory (:func:`with_script`:
``zh_TW``, ``zh_HK`` and ``zh_MO`` are written in Traditional characters), so a reader
in Taipei or Hong Kong is never served Simplified Chinese.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from babel import Locale, UnknownLocaleError
from babel.core import get_global

if TYPE_CHECKING:
    from babel.support import NullTranslations

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
#: The language the product's strings are written in; it needs no catalog.
SOURCE_LANGUAGE = "en"


def shipped_languages(locales_dir: Path = LOCALES_DIR) -> tuple[str, ...]:
    """Languages with a catalog in ``locales_dir``, sorted (the source language excluded)."""
    return tuple(
        sorted(
            folder.name
            for folder in locales_dir.iterdir()
            if (folder / "LC_MESSAGES" / f"{DOMAIN}.po").is_file()
            and folder.name != SOURCE_LANGUAGE
        )
    )


#: Languages the product's own pages are shown in: the source, then every catalog.
UI_LANGUAGES = (SOURCE_LANGUAGE, *shipped_languages())


@lru_cache(maxsize=1024)
def known_locale(value: str) -> str:
    """``value`` if Babel knows the locale ('persian' or 'xx_YY' are refused)."""
    try:
        Locale.parse(value.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError(f"{value!r} is not a known locale (e.g. en, fa_IR, zh_Hant)") from None
    return value


def known_locales(values: list[str]) -> list[str]:
    """``values`` if Babel knows each locale and none is named twice (``fa_IR`` and
    ``fa-IR``, ``en`` and ``EN`` are one): ``campaigns validate`` rendered and reported
    a locale listed twice twice. At least one: with none it rendered no template and
    said all was valid."""
    if not values:
        raise ValueError("at least one locale: campaigns validate renders templates in each")
    seen: dict[str, str] = {}
    for locale in values:
        same = known_locale(locale).replace("-", "_").lower()
        if same in seen:
            raise ValueError(f"{locale!r} is listed twice (as {seen[same]!r} before it)")
        seen[same] = locale
    return values


#: The longest tag read as a locale. Tags in use are far shorter (RFC 5646 asks readers
#: to take 35 characters); a longer one (an ``Accept-Language`` header, a ``lang``
#: field, an imported ``locale``) is no locale and is never cached: the caches below
#: are keyed by the tag, and :func:`locale_candidates` lists each of its prefixes.
MAX_TAG_CHARS = 64


def with_script(locale: str) -> str:
    """``locale`` with the script CLDR's likely subtags give it when it names none and
    its territory writes another script than its language's default: ``zh_TW`` ->
    ``zh_Hant_TW``, ``zh-hk`` -> ``zh_Hant_HK``, ``zh_MO`` -> ``zh_Hant_MO`` (but ``zh_CN``,
    ``zh_SG`` and ``zh`` stay as they are, Simplified being the language's default;
    likewise ``sr_ME`` -> ``sr_Latn_ME``). Separators become ``_``; a tag Babel cannot
    read (or longer than :data:`MAX_TAG_CHARS`) comes back as it was given."""
    return locale if len(locale) > MAX_TAG_CHARS else _with_script(locale)


@lru_cache(maxsize=1024)
def _with_script(locale: str) -> str:
    tag = locale.replace("-", "_")
    try:
        parsed = Locale.parse(tag)
    except (UnknownLocaleError, ValueError, TypeError):
        return locale
    if not parsed.territory or tag.count("_") != 1:
        return tag  # no territory to go by, or the tag already names a script
    likely = get_global("likely_subtags")
    own = str(likely.get(f"{parsed.language}_{parsed.territory}", "")).split("_")
    default = str(likely.get(parsed.language, "")).split("_")
    if len(own) == 3 and len(default) == 3 and own[1] != default[1]:
        return f"{parsed.language}_{own[1]}_{parsed.territory}"
    return tag


def locale_candidates(locale: str) -> tuple[str, ...]:
    """UI languages to try for a locale, most specific first: 'zh-TW' -> zh_TW,
    zh_Hant_TW, zh_Hant, zh (the tag as given, then with its likely script); none for
    a tag longer than :data:`MAX_TAG_CHARS`.

    Cached, as :func:`with_script` is: planning asks for every message (the SMS
    signature), and parsing the tag with Babel cost about 6 % of a broadcast's time."""
    return () if len(locale) > MAX_TAG_CHARS else _locale_candidates(locale)


@lru_cache(maxsize=1024)
def _locale_candidates(locale: str) -> tuple[str, ...]:
    tag = locale.replace("-", "_")
    parts = tag.split("_")
    parts[0] = parts[0].lower()
    candidates = ["_".join(parts)]
    scripted = with_script(candidates[0]).split("_")
    candidates += ["_".join(scripted[:n]) for n in range(len(scripted), 0, -1)]
    return tuple(dict.fromkeys(candidates))


def _ui_match(locale: str) -> str | None:
    wanted = {language.lower(): language for language in UI_LANGUAGES}
    for candidate in locale_candidates(locale):
        if candidate.lower() in wanted:
            return wanted[candidate.lower()]
    return None


def ui_language(locale: str | None) -> str:
    """The UI language for a customer locale: ``fa_IR`` -> ``fa``, ``ar_EG`` -> ``ar``,
    ``zh_TW`` / ``zh_HK`` / ``zh_Hant`` -> ``zh_Hant``, ``zh_CN`` -> ``zh``.

    The same negotiation as campaign templates (locale, then its likely script, then
    its language, then the default); here the default is the source language, the one
    with every string.
    """
    if not locale:
        return SOURCE_LANGUAGE
    return _ui_match(locale) or SOURCE_LANGUAGE


#: The tags of an Accept-Language header read: a browser sends a handful, and each
#: costs a lookup on the event loop (16 KiB of made-up tags took 0.3 s).
MAX_ACCEPTED_TAGS = 32


def from_accept_language(header: str | None) -> str:
    """The best UI language for an Accept-Language header (no customer known yet):
    of the tags a UI language serves (``zh-TW`` -> ``zh_Hant``, ``zh-Hant`` ->
    ``zh_Hant``, ``zh-CN`` -> ``zh``), the one of the highest weight, the first given
    among equals; a tag weighted ``q=0`` is one the reader does not want. Only the
    first :data:`MAX_ACCEPTED_TAGS` tags are read: each costs a lookup."""
    if not header:
        return SOURCE_LANGUAGE
    weighted = []
    for part in header.split(",", MAX_ACCEPTED_TAGS)[:MAX_ACCEPTED_TAGS]:
        tag, *parameters = (piece.strip() for piece in part.split(";"))
        weight = _weight(parameters)
        if tag and tag != "*" and weight > 0:
            weighted.append((weight, tag))
    for _, tag in sorted(weighted, key=lambda pair: -pair[0]):  # stable: order among equals
        found = _ui_match(unaliased_locale(tag))
        if found:
            return found
    return SOURCE_LANGUAGE


def unaliased_locale(tag: str) -> str:
    """``tag`` (``-`` or ``_``) with its language under CLDR's code for it, underscored:
    Windows writes Dari ``prs-AF`` (CLDR: ``fa_AF``), ISO 639-3 Iranian Persian ``pes``
    (``fa``), Mandarin ``cmn`` (``zh``), older tags ``iw`` (``he``). The tag's own script
    and region replace those the alias implies (``prs`` alone is ``fa_AF``, ``sh_RS`` is
    ``sr_Latn_RS``); a tag without an alias comes back as it was, underscored."""
    identifier = tag.replace("-", "_")
    language, _, rest = identifier.partition("_")
    alias = get_global("language_aliases").get(language.lower())
    if not alias:
        return identifier
    base, *implied = str(alias).split("_")
    given = [part for part in rest.split("_") if part]
    kinds = {_subtag_kind(part) for part in given}
    parts = [part for part in implied if _subtag_kind(part) not in kinds] + given
    return "_".join([base, *sorted(parts, key=lambda part: _subtag_kind(part) != "script")])


def _subtag_kind(part: str) -> str:
    return "script" if len(part) == 4 and part.isalpha() else "other"


def _weight(parameters: list[str]) -> float:
    """A tag's ``q`` (RFC 9110): 1 when absent, unreadable or above 1."""
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value.strip())
            except ValueError:
                return 1.0
            return min(max(weight, 0.0), 1.0) if weight == weight else 1.0
    return 1.0


#: The digits of the numbering systems CLDR makes some locale's default, zero first.
#: A locale whose default system is not here (or is ``latn``) writes ASCII digits.
DIGITS = {
    "latn": "0123456789",
    "arab": "٠١٢٣٤٥٦٧٨٩",
    "arabext": "۰۱۲۳۴۵۶۷۸۹",
    "beng": "০১২৩৪৫৬৭৮৯",
    "deva": "०१२३४५६७८९",
    "mymr": "၀၁၂၃၄၅၆၇၈၉",
}


def numbering_system(locale: str | None) -> str:
    """CLDR's default numbering system for a locale, if we know its digits, else ``latn``.

    ``fa`` -> ``arabext`` (۰-۹), ``ar_EG`` -> ``arab`` (٠-٩), ``ar`` -> ``latn`` (CLDR
    gives plain Arabic and the Maghreb Western digits), ``zh`` -> ``latn``.
    """
    if not locale or len(locale) > MAX_TAG_CHARS:
        return "latn"
    return _numbering_system(locale)


@lru_cache(maxsize=256)
def _numbering_system(locale: str) -> str:
    try:
        parsed = Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return "latn"
    system = parsed.default_numbering_system
    return system if system in DIGITS and system in parsed.number_symbols else "latn"


def page_numbering_system(locale: str | None) -> str:
    """The digits of a product page shown to a customer with this locale.

    The customer's own locale when the page is in its language (an ``ar_EG``
    customer reads Arabic-Indic digits on the Arabic page), else the page language's:
    a German customer served the English page reads English digits.
    """
    language = ui_language(locale)
    same = locale and locale.replace("-", "_").split("_")[0].lower() == language.split("_")[0]
    return numbering_system(locale if same else language)


@lru_cache(maxsize=16)
def _digit_table(system: str) -> dict[int, str]:
    target = DIGITS.get(system, DIGITS["latn"])
    return {
        ord(digit): target[value]
        for digits in DIGITS.values()
        for value, digit in enumerate(digits)
        if digits is not target
    }


def localize_digits(text: str, system: str) -> str:
    """``text`` with every decimal digit we know (ASCII, Arabic-Indic, Persian, ...)
    written in ``system``'s digits: ``localize_digits("0 = ...", "arabext")`` -> "۰ = ..."."""
    return text.translate(_digit_table(system))


@lru_cache(maxsize=32)
def translations(language: str, system: str | None = None) -> NullTranslations:
    """Compiled translations for a UI language (English gets the identity), their
    digits in ``system`` (default: the language's own, :func:`numbering_system`)."""
    from babel.support import NullTranslations

    from rapport.engine.core.catalogs import LocalDigits, compiled_catalog

    system = system or numbering_system(language)
    if language == SOURCE_LANGUAGE:
        catalog = NullTranslations()
        if system == "latn":
            return catalog  # the source strings are written in ASCII digits
    else:
        path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        catalog = compiled_catalog(path, language, DOMAIN)
    return LocalDigits(catalog, _digit_table(system))


def gettext_noop(message: str) -> str:
    """Marks a string for extraction where it is defined; translate it where it is used."""
    return message


def gettext(language: str, message: str) -> str:
    return translations(language).gettext(message)


@lru_cache(maxsize=16)
def text_direction(language: str) -> str:
    """``rtl`` for right-to-left scripts (Persian, Arabic, Hebrew, ...), else ``ltr``."""
    try:
        order = Locale.parse(language).character_order
    except (UnknownLocaleError, ValueError):
        return "ltr"
    return "rtl" if order == "right-to-left" else "ltr"
