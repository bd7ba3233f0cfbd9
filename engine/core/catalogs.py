"""The product's gettext catalogs, compiled from their .po files when first used.

Apart from :mod:`rapport.engine.core.i18n` (which imports this module the first time a
sentence is translated) so that what only checks or negotiates a locale, every command
reading the configuration, imports neither Babel's message catalogs nor its dates and
pytz with them.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations


class LocalDigits(NullTranslations):
    """A catalog whose translations are written in one numbering system's digits
    (``digits`` maps every other system's digit to it, for ``str.translate``).

    Only the translated sentence is changed: Jinja and ``str.format`` put the values
    (names, links, the postal address) in afterwards, untouched.
    """

    def __init__(self, catalog: NullTranslations, digits: dict[int, str]) -> None:
        super().__init__()
        self._inner = catalog
        self._digits = digits

    def gettext(self, message: str) -> str:
        return self._inner.gettext(message).translate(self._digits)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return self._inner.ngettext(msgid1, msgid2, n).translate(self._digits)

    def pgettext(self, context: str, message: str) -> str:
        text = self._inner.pgettext(context, message)
        return (text if isinstance(text, str) else message).translate(self._digits)

    def npgettext(self, context: str, singular: str, plural: str, num: int) -> str:
        return self._inner.npgettext(context, singular, plural, num).translate(self._digits)

    # Jinja prefers these names when a catalog has them, as Babel's catalogs do.
    ugettext = gettext
    ungettext = ngettext


@lru_cache(maxsize=16)
def compiled_catalog(path: Path, language: str, domain: str) -> NullTranslations:
    """The catalog of ``language`` in the .po file at ``path``, compiled in memory;
    the identity when there is no such file."""
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=domain)
