"""The product's own pages and e-mails, in the customer's language and digits.

These templates ship with Rapport (they are not marketer-written), so a normal
autoescaping environment is right; there is one environment per UI language and
numbering system, because Jinja's i18n extension installs translations into the
environment's globals and the translated sentences are written in the page's digits.

Numbers on a page follow CLDR for the customer's locale when the page is in its
language (:func:`~rapport.engine.core.i18n.page_numbering_system`): Persian digits
(۰-۹) on every Persian page, Arabic-Indic (٠-٩) for ``ar_EG`` or ``ar_SA``, Western
digits for plain ``ar`` as CLDR has it. Templates print a number with the ``number``
filter, never bare, and join two phrases with ``separator``: a middle dot in Arabic
script reads as a zero (``·`` beside ``۱۰`` looks like ``۱۰۰``), so the pages of a
language written in it (Persian, Arabic, Urdu, ...) get the Arabic comma instead.

The language is :func:`~rapport.engine.core.i18n.ui_language` of the customer's
locale: a ``zh_TW``, ``zh_HK`` or ``zh_MO`` customer reads the Traditional Chinese
(``zh_Hant``) pages and e-mails, a ``zh_CN`` one the Simplified.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from babel import Locale
from babel.core import get_global
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from rapport.engine.core.i18n import (
    page_numbering_system,
    text_direction,
    translations,
    ui_language,
)
from rapport.engine.rendering.formats import LocaleFormats

HERE = Path(__file__).resolve().parent

#: Joins two phrases on a page. A middle dot in Arabic script reads as the digit zero,
#: so languages written in it use CLDR's Persian list separator: the Arabic comma, a
#: right-to-left mark that keeps it beside the word before, and a space.
ARABIC_SEPARATOR = "\u060c\u200f "
DEFAULT_SEPARATOR = " · "


class Pages:
    def __init__(self, brand: str) -> None:
        self.brand = brand
        self._environments: dict[tuple[str, str], Environment] = {}

    def _environment(self, language: str, system: str) -> Environment:
        key = (language, system)
        env = self._environments.get(key)
        if env is not None:
            return env
        env = Environment(
            loader=FileSystemLoader([HERE / "pages", HERE / "mail"]),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.install_gettext_translations(translations(language, system), newstyle=True)  # type: ignore[attr-defined]
        env.filters["number"] = _number_filter(language, system)
        env.globals["separator"] = separator(language)
        env.globals["sentence_gap"] = sentence_gap(language)
        return self._environments.setdefault(key, env)

    def render(self, name: str, locale: str | None, **context: Any) -> str:
        language = ui_language(locale)
        template = self._environment(language, page_numbering_system(locale)).get_template(name)
        # ``lang`` is the BCP 47 tag (zh-Hant), for <html lang> and for links back here.
        return template.render(
            lang=language.replace("_", "-"),
            dir=text_direction(language),
            brand=self.brand,
            **context,
        )

    def gettext(self, locale: str | None, message: str) -> str:
        language = ui_language(locale)
        return translations(language, page_numbering_system(locale)).gettext(message)


def separator(language: str) -> str:
    """The separator of two phrases on a page in ``language`` (see :data:`ARABIC_SEPARATOR`)."""
    likely = str(get_global("likely_subtags").get(language, ""))
    return ARABIC_SEPARATOR if "_Arab" in likely else DEFAULT_SEPARATOR


def sentence_gap(language: str) -> str:
    """What goes between two sentences on a page in ``language``: a space, or nothing
    in Chinese and Japanese, whose full stop (。) ends a sentence without one."""
    likely = str(get_global("likely_subtags").get(language, ""))
    return "" if any(f"_{script}" in likely for script in ("Hans", "Hant", "Jpan")) else " "


def _number_filter(language: str, system: str) -> Callable[..., str]:
    """``{{ n | number }}``: a number in the page's digits, separators and minus sign."""
    return LocaleFormats(Locale.parse(language), numbering=system).format_decimal
