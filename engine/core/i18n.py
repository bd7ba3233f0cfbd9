"""The product's own words in the customer's language: gettext catalogs via Babel.

Strings the product itself shows (preference centre, unsubscribe pages, SMS keyword
replies, confirmation e-mails) are written in English in the source and translated in
``engine/core/locales/<lang>/LC_MESSAGES/messages.po``. The .po files are compiled in
memory when first used, so there is no build step to forget.

The UI languages are English plus every language that has a catalog: adding one is
adding its ``messages.po`` (see docs/localization.md), with no list to update here.
Text direction comes from CLDR, so a right-to-left language (Persian, Arabic,
Hebrew, Urdu) gets ``dir="rtl"`` without being named anywhere.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

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


def ui_language(locale: str | None) -> str:
    """The UI language for a customer locale: ``fa_IR`` -> ``fa``, ``ar_EG`` -> ``ar``.

    The same negotiation as campaign templates (locale, then its language, then the
    default); here the default is the source language, the one with every string.
    """
    if not locale:
        return SOURCE_LANGUAGE
    language = locale.replace("-", "_").split("_")[0].lower()
    return language if language in UI_LANGUAGES else SOURCE_LANGUAGE


def from_accept_language(header: str | None) -> str:
    """The best UI language for an Accept-Language header (no customer known yet)."""
    if not header:
        return SOURCE_LANGUAGE
    wanted = []
    for part in header.split(","):
        tag = part.split(";")[0].strip()
        if tag and tag != "*":
            wanted.append(tag.replace("-", "_"))
    return negotiate_locale(wanted, list(UI_LANGUAGES), sep="_") or SOURCE_LANGUAGE


@lru_cache(maxsize=16)
def translations(language: str) -> NullTranslations:
    """Compiled translations for a UI language (English gets the identity)."""
    path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == SOURCE_LANGUAGE or not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


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
