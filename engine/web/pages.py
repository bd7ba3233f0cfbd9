"""The product's own pages and e-mails, in the customer's language.

These templates ship with Rapport (they are not marketer-written), so a normal
autoescaping environment is right; there is one environment per UI language because
Jinja's i18n extension installs translations into the environment's globals.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from rapport.engine.core.i18n import UI_LANGUAGES, text_direction, translations, ui_language

HERE = Path(__file__).resolve().parent


class Pages:
    def __init__(self, brand: str) -> None:
        self.brand = brand

    @cached_property
    def _environments(self) -> dict[str, Environment]:
        environments = {}
        for language in UI_LANGUAGES:
            env = Environment(
                loader=FileSystemLoader([HERE / "pages", HERE / "mail"]),
                autoescape=select_autoescape(["html"]),
                undefined=StrictUndefined,
                extensions=["jinja2.ext.i18n"],
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
            environments[language] = env
        return environments

    def render(self, name: str, locale: str | None, **context: Any) -> str:
        language = ui_language(locale)
        template = self._environments[language].get_template(name)
        return template.render(
            lang=language, dir=text_direction(language), brand=self.brand, **context
        )

    def gettext(self, locale: str | None, message: str) -> str:
        return translations(ui_language(locale)).gettext(message)
