"""The formatting filters of a template folder, applied for the customer being rendered.

Formatting follows the same negotiation as the text
(:func:`~rapport.engine.rendering.locales.locale_chain`: customer locale, then its
language, then the configured default): the filters use the most specific locale of
the customer's chain that is in the template folder's language. An ``en_GB``
customer served from ``en/`` reads "21 March 2026" and an ``ar_EG`` one served from
``ar/`` gets Arabic-Indic digits, while a German customer who falls back to ``en/``
gets English formats with the English words, never a mix.

One environment serves a folder for every customer, so its filters cannot hold the
customer's locale: the renderer sets :data:`CUSTOMER_LOCALE` around each render and
the filters read it. Each (folder, customer locale) pair is resolved once to a shared
:class:`~rapport.engine.rendering.formats.LocaleFormats`, so a message costs a dict
lookup rather than locale parsing.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from babel import Locale, UnknownLocaleError
from jinja2 import pass_context
from jinja2.runtime import Context

from rapport.engine.rendering.formats import LocaleFormats
from rapport.engine.rendering.locales import language, locale_chain

__all__ = ["CUSTOMER_LOCALE", "Formatting"]

#: The locale of the customer being rendered for, read by the filters so they format
#: for that customer. A context variable rather than a context key: the template
#: context is the marketer's namespace, and this must hold across threads.
CUSTOMER_LOCALE: ContextVar[str | None] = ContextVar("rapport_customer_locale", default=None)


class Formatting:
    """Which :class:`LocaleFormats` a customer gets from a template folder, and the
    folder's Jinja filters that apply it.

    One per renderer; its caches only ever gain equivalent entries, so it is safe to
    share between threads.
    """

    def __init__(self, default_locale: str) -> None:
        self.default_locale = default_locale
        self._formats: dict[str, LocaleFormats] = {}
        self._format_locales: dict[tuple[str, str | None], str] = {}

    def formats_for(self, template_locale: str, customer_locale: str | None) -> LocaleFormats:
        """The formatting a customer gets from a template folder (see the module doc).

        The most specific locale of the customer's chain in the folder's language, so
        the numbers and dates are the customer's own yet match the words around them.
        """
        key = (template_locale, customer_locale)
        name = self._format_locales.get(key)
        if name is None:
            name = self._format_locale(template_locale, customer_locale)
            self._format_locales[key] = name
        formats = self._formats.get(name)
        if formats is None:
            formats = self._formats.setdefault(name, LocaleFormats(Locale.parse(name)))
        return formats

    def filters(self, template_locale: str) -> dict[str, Callable[..., str]]:
        """The folder's filters, each formatting for the customer being rendered.

        They are marked ``pass_context`` only so that Jinja never calls them at compile
        time on a constant (``{{ 1500 | format_number }}``), which would fix the format
        to the folder's whoever the customer; the template context itself is unused,
        and Python callers may leave it out.
        """

        def bound(method: str) -> Callable[..., str]:
            # Customer locale -> that customer's bound method; a handful of entries.
            methods: dict[str | None, Callable[..., str]] = {}

            @pass_context
            def apply(*args: Any, **kwargs: Any) -> str:
                if args and isinstance(args[0], Context):
                    args = args[1:]
                customer_locale = CUSTOMER_LOCALE.get()
                format_for = methods.get(customer_locale)
                if format_for is None:
                    formats = self.formats_for(template_locale, customer_locale)
                    format_for = methods.setdefault(customer_locale, getattr(formats, method))
                return format_for(*args, **kwargs)

            apply.__name__ = apply.__qualname__ = method
            return apply

        return {name: bound(method) for name, method in LocaleFormats.FILTERS.items()}

    def _format_locale(self, template_locale: str, customer_locale: str | None) -> str:
        folder = self._babel_locale(template_locale)
        if customer_locale:
            for candidate in locale_chain(customer_locale, str(folder)):
                if language(candidate) != folder.language:
                    continue
                try:
                    return str(Locale.parse(candidate))
                except (ValueError, TypeError, UnknownLocaleError):
                    continue
        return str(folder)

    def _babel_locale(self, template_locale: str) -> Locale:
        # A folder named after no real locale still renders, formatted as the default.
        for candidate in (template_locale, self.default_locale, "en"):
            try:
                return Locale.parse(candidate)
            except (ValueError, TypeError, UnknownLocaleError):
                continue
        raise AssertionError("Babel always knows 'en'")  # pragma: no cover
