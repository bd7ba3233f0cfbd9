"""The product's own words in the customer's language: gettext catalogs via Babel.

Strings the product itself shows (preference centre, unsubscribe pages, SMS keyword
replies, confirmation e-mails) are written in English in the source and translated in
``engine/locales/<lang>/LC_MESSAGES/messages.po``. The .po files are compiled in
memory when first used, so there is no build step to forget.
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
#: Languages the product's own pages are translated into; English is the source.
UI_LANGUAGES = ("en", "fa", "zh")


def ui_language(locale: str | None) -> str:
    """The UI language for a customer locale: ``fa_IR`` -> ``fa``; unknown -> ``en``."""
    if not locale:
        return "en"
    language = locale.replace("-", "_").split("_")[0].lower()
    return language if language in UI_LANGUAGES else "en"


def from_accept_language(header: str | None) -> str:
    """The best UI language for an Accept-Language header (no customer known yet)."""
    if not header:
        return "en"
    wanted = []
    for part in header.split(","):
        tag = part.split(";")[0].strip()
        if tag and tag != "*":
            wanted.append(tag.replace("-", "_"))
    return negotiate_locale(wanted, list(UI_LANGUAGES), sep="_") or "en"


@lru_cache(maxsize=16)
def translations(language: str) -> NullTranslations:
    """Compiled translations for a UI language (English gets the identity)."""
    path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == "en" or not path.exists():
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
