"""Rendering of marketer-written templates: sandboxed, localized, compiled once.

Templates are written by marketers, so they are treated as untrusted code: they run
in Jinja's ``ImmutableSandboxedEnvironment``, see only plain data, and every part's
output is capped in size. A mistake in a template is reported as FILE:LINE, the
same way a mistake in a campaign's YAML file is. The cap bounds memory, not time:
nested loops that print nothing are limited only by the sandbox's ``range`` cap, so
``rapport campaigns validate`` (which renders everything) is where a slow template shows.

Layout
------
::

    templates/<template_set>/<locale>/email_subject.txt   e-mail subject, one line (e-mail)
    templates/<template_set>/<locale>/email.txt           plain-text body (e-mail)
    templates/<template_set>/<locale>/email.html          HTML body, optional (e-mail)
    templates/<template_set>/<locale>/sms.txt             the text message (SMS)

``<template_set>`` is the campaign's ``templates`` key, or its id when that is not
given. ``<locale>`` is a folder per language (``en``, ``fa``, ``zh``) or per regional
variant (``fa_IR``, ``zh_TW``). A message comes from the first folder, in the order
exact locale -> language -> configured default locale, that holds *every* required
part of the channel; parts are never mixed across folders, so a Persian customer
never gets an English subject over a Persian body. Only ``.html`` files are
auto-escaped; blocks are trimmed (``trim_blocks``/``lstrip_blocks``) so plain-text
templates can use ``{% if %}`` lines without leaving blank lines behind, and
``None`` prints as nothing rather than as ``None``.

Context contract
----------------
Callers pass plain data only (dicts, lists, strings, numbers, ``Decimal``, dates),
never ORM objects: a live entity would let a template trigger lazy database loads,
and plain data is what makes a render cheap and side-effect free.
:meth:`Renderer.render` refuses anything else with :class:`ContextError`, walking
the context first, unless it is a :class:`PlainContext`: one whose builder checked
the values it took from outside as it built it, as ``message_context`` does. Every key
below is always present (``rapport campaigns validate`` renders with all of them, see
:func:`sample_context`); "or None" marks those a customer may not have, which
templates test with ``{% if ... %}``. Amounts are ``Decimal`` in the tier base
currency named next to them. The context is built by
:func:`rapport.engine.planning.context.message_context`.

``customer``
    ``id``, ``first_name``, ``last_name``, ``full_name`` (see :func:`full_name`),
    ``locale``, ``timezone``, ``country`` (ISO code or None), ``birthday`` (date or
    None), ``stage`` (lifecycle stage: ``prospect``, ``first_time``, ``repeat``,
    ``loyal``, ``at_risk``, ``lapsed``), ``tier`` (loyalty tier, e.g. ``vib``),
    ``segment`` (RFM segment such as ``champions`` or ``at_risk``, or None),
    ``order_count``, ``lifetime_value``, ``currency`` (ISO 4217 code of
    ``lifetime_value`` and of every amount below) and ``days_since_last_order``
    (whole local days up to the sending day, or None for someone who never ordered).
``campaign``
    ``id``, ``name``, ``topic``.
``occasion``
    ``kind`` (the trigger type: ``birthday``, ``anniversary``, ``holiday``,
    ``reorder``, ``welcome``, ``winback``, ``tier_reached``, ``feedback`` or
    ``recurring``), ``date`` (the occasion's own date, later than the sending day
    when the campaign sends ahead), ``name`` (the holiday's name in the customer's
    language, else None), ``sku`` (the product a reorder, welcome or feedback
    message is about, else None), ``last_ordered_at`` (date of the order it refers
    to, else None), ``order_id`` (welcome and feedback, else None), ``years`` (the
    age a birthday turns, or which anniversary; else None), ``tier`` (the tier just
    reached, else None) and ``days_since_last_order`` (from ``last_ordered_at``, or
    else the customer's latest order, to ``date``; None without orders).
``last_order``
    the customer's latest order, or None: ``id``, ``day`` (local date), ``items``
    (a list of mappings with ``sku`` and ``quantity``), ``amount`` and ``currency``.
``favourite_sku``
    the SKU the customer ordered most units of (ties: the one ordered last), or None.
``recommendation``
    a SKU the customer has not bought, the one most often bought by customers who
    bought the same SKUs (see :mod:`rapport.engine.customers.recommend`), or None.
``offer``
    the campaign's ``offer`` mapping with every per-tier or per-segment value
    resolved for this customer (see :mod:`rapport.engine.campaigns.offers`), e.g.
    ``discount_percent``, plus ``code``, the customer's personal coupon code, when
    the offer has ``coupon: true``. It may be empty, so templates test
    ``offer.discount_percent is defined`` and ``offer.code is defined``. A code is
    Latin letters and digits: in right-to-left text wrap it in ``<bdi>`` (HTML) or
    between U+2068 and U+2069 (plain text) so it keeps its order.
``links``
    ``preferences``, ``unsubscribe`` and ``feedback`` (the one-question page for this
    occasion): signed URLs for this customer.
``sender``
    ``postal_address``: shown in every e-mail footer.

Filters, formatting for the customer in the language of the template folder, so the
numbers and dates match the words around them: ``format_date(value, format="long")``,
``format_datetime(value, format="medium", tzinfo=None)``, ``format_number``,
``format_decimal``, ``format_percent``, ``format_currency(amount, currency)``,
``format_timedelta(delta, granularity="second")`` ('3 days') and
``relative(value, base)`` ('3 days ago', 'in 3 days': ``value`` seen from
``base``, e.g. ``occasion.last_ordered_at | relative(occasion.date)``).
Numbers use the locale's default numbering system: Persian output has Persian
digits and separators (``۱٬۵۰۰٬۰۰۰``), Egyptian Arabic Arabic-Indic digits; Persian
dates are Solar Hijri with Persian month names for the named formats (``short``,
``medium``, ``long``, ``full``), while a custom Babel pattern gives the Gregorian
calendar. Formatting follows the same negotiation as the text (:func:`locale_chain`:
customer locale, then its language, then the configured default): the filters use
the most specific locale of the customer's chain that is in the template folder's
language. An ``en_GB`` customer served from ``en/`` reads "21 March 2026" and an
``ar_EG`` one served from ``ar/`` gets Arabic-Indic digits, while a German customer
who falls back to ``en/`` gets English formats with the English words, never a mix.

Speed
-----
One environment per template locale (never one per message, never overlays: an
overlay shares its parent's globals, so per-locale data would leak between them),
each template compiled once and kept for the life of the :class:`Renderer`
(``auto_reload`` is off, so a changed file is read again only after a restart),
parsed ``babel.Locale`` objects instead of locale strings. Per message, the renderer
adds little to Jinja's own ``Template.render``: no walk of a :class:`PlainContext`,
output joined in batches rather than chunk by chunk (:meth:`Renderer._capped`),
formatted numbers and dates remembered per locale (:class:`LocaleFormats`), dict keys
read without a failed attribute lookup first (:meth:`_Sandbox.getattr`), and each
template's globals flattened from Jinja's ``ChainMap`` once rather than per render.
"""

from __future__ import annotations

import os
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    meta,
    nodes,
    pass_context,
    select_autoescape,
)
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.loaders import split_template_path
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from rapport.engine.campaigns.offers import personal_offer
from rapport.engine.core.errors import CampaignError, Problem, RapportError

try:  # Solar Hijri new-year table (1901-2100) shipped with the ``holidays`` dependency.
    from holidays.calendars.persian import _Persian
except ImportError:  # pragma: no cover - only if holidays reorganises its calendars
    _Persian = None

if TYPE_CHECKING:
    from rapport.engine.campaigns.model import Campaign
    from rapport.engine.core.config import Settings

__all__ = [
    "CHANNEL_PARTS",
    "EMAIL_HTML",
    "EMAIL_SUBJECT",
    "EMAIL_TEXT",
    "MAX_OUTPUT_CHARS",
    "SMS_TEXT",
    "ChannelKind",
    "ChannelParts",
    "ContextError",
    "InvalidOutput",
    "LocaleFormats",
    "OutputTooLarge",
    "PlainContext",
    "RenderedMessage",
    "Renderer",
    "TemplateMissing",
    "TemplateProblemError",
    "check_plain",
    "full_name",
    "locale_chain",
    "plain_context",
    "sample_context",
    "solar_hijri",
]

ChannelKind = Literal["email", "sms"]

EMAIL_SUBJECT = "email_subject.txt"
EMAIL_TEXT = "email.txt"
EMAIL_HTML = "email.html"
SMS_TEXT = "sms.txt"

#: Characters one template part may produce. Far above any real message, low enough
#: that a runaway loop cannot fill the outbox or the process's memory.
MAX_OUTPUT_CHARS = 100_000
#: Output chunks taken at a time while a part renders, before its size is checked. The
#: shipped parts yield 2 to 40 chunks, so a message's part is one batch; a runaway
#: loop is stopped at most this many chunks past the cap.
_CHUNKS = 64


@dataclass(frozen=True, slots=True)
class ChannelParts:
    """The template files a channel needs, and those it uses when present."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional


CHANNEL_PARTS: dict[str, ChannelParts] = {
    "email": ChannelParts(required=(EMAIL_SUBJECT, EMAIL_TEXT), optional=(EMAIL_HTML,)),
    "sms": ChannelParts(required=(SMS_TEXT,)),
}


# --------------------------------------------------------------------------- errors


class TemplateProblemError(CampaignError):
    """A template cannot produce a message; ``problem`` says which file and line.

    Raised for syntax errors, undefined variables, sandbox violations and any other
    error inside a template, so the caller can skip the message and tell the marketer
    where to look, instead of crashing on a traceback.
    """

    def __init__(self, problem: Problem) -> None:
        super().__init__([problem])
        self.problem = problem


class TemplateMissing(TemplateProblemError):
    """No folder in the locale fallback chain holds the channel's required parts."""


class OutputTooLarge(TemplateProblemError):
    """A part rendered more than the renderer's cap (see :data:`MAX_OUTPUT_CHARS`)."""


class InvalidOutput(TemplateProblemError):
    """A part rendered something unusable: an empty message or a multi-line subject."""


class ContextError(RapportError, TypeError):
    """The caller passed something other than plain data: a bug in Rapport, not the template."""


# --------------------------------------------------------------------------- names and locales

_FAMILY_NAME_FIRST = frozenset({"zh", "ja", "ko"})
_CJK_NAME = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\u00b7\u30fb]+"
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
        _language(locale) in _FAMILY_NAME_FIRST
        and _CJK_NAME.fullmatch(first)
        and _CJK_NAME.fullmatch(last)
    ):
        return last + first
    return f"{first} {last}"


@lru_cache(maxsize=1024)
def _language(locale: str) -> str:
    """'fa-IR' -> 'fa'; cached, since a run asks for the same few locales per message."""
    return locale.replace("-", "_").split("_", 1)[0].lower()


def _normalise_locale(locale: str) -> str | None:
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
    """Folders to try, most specific first: 'zh_Hant_TW' -> zh_Hant_TW, zh_Hant, zh, default."""
    chain: list[str] = []
    normalised = _normalise_locale(locale)
    if normalised:
        parts = normalised.split("_")
        chain = ["_".join(parts[:n]) for n in range(len(parts), 0, -1)]
    if default not in chain:
        chain.append(default)
    return chain


# --------------------------------------------------------------------------- formatting

_NATIVE_DIGITS = {
    "arab": "٠١٢٣٤٥٦٧٨٩",
    "arabext": "۰۱۲۳۴۵۶۷۸۹",
    "beng": "০১২৩৪৫৬৭৮৯",
    "deva": "०१२३४५६७८९",
    "mymr": "၀၁၂၃၄၅၆၇၈၉",
}
_PERSIAN_MONTHS = (
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
)
_NAMED_FORMATS = frozenset({"short", "medium", "long", "full"})


def solar_hijri(day: date) -> tuple[int, int, int] | None:
    """(year, month, day) in the Solar Hijri calendar, or None outside 1901-2100.

    The first six months have 31 days and the next five 30; only the new-year date
    needs astronomy, and that table comes from the ``holidays`` package.
    """
    if _Persian is None:  # pragma: no cover
        return None
    calendar = _Persian()
    new_year = calendar.new_year_date(day.year)
    if new_year is None:
        return None
    if day < new_year:
        new_year = calendar.new_year_date(day.year - 1)
        if new_year is None:
            return None
    offset = (day - new_year).days
    if offset < 186:
        month, dom = divmod(offset, 31)
    else:
        month, dom = divmod(offset - 186, 30)
        month += 6
    return new_year.year - 621, month + 1, dom + 1


class LocaleFormats:
    """Babel formatting bound to one parsed locale, used as that locale's Jinja filters.

    Parsing a locale and looking up its numbering system once, rather than per call,
    matters: Babel is most of the cost of a rich render. Beyond that, each result is
    remembered per (filter, value, arguments): a broadcast formats the same discount,
    the same occasion date and the same small order counts for every customer of a
    locale, and Babel's answer depends on nothing else. Only exact ints, Decimals,
    floats, dates and timedeltas are remembered (see :func:`_memo_key`); a datetime
    is formatted afresh each time, since equal datetimes in different zones print
    differently.
    """

    def __init__(self, locale: Locale) -> None:
        self.locale = locale
        system = locale.default_numbering_system
        if system in _NATIVE_DIGITS and system in locale.number_symbols:
            # Babel picks the native separators but keeps ASCII digits; swap them here.
            self._numbering = system
            self._digits: dict[int, int] | None = str.maketrans(
                "0123456789", _NATIVE_DIGITS[system]
            )
        else:
            self._numbering = "latn"
            self._digits = None
        # Babel keeps a literal '%' whatever the numbering system ('۱۵%' instead of '۱۵٪').
        self._percent_sign = locale.number_symbols[self._numbering].get("percentSign", "%")
        self._solar_hijri = locale.language == "fa" and _Persian is not None
        self._day_names = locale.days["format"]["wide"]
        self._memo: dict[tuple[Any, ...], str] = {}

    #: Jinja filter name -> method.
    FILTERS: Mapping[str, str] = {
        "format_date": "format_date",
        "format_datetime": "format_datetime",
        "format_number": "format_decimal",
        "format_decimal": "format_decimal",
        "format_percent": "format_percent",
        "format_currency": "format_currency",
        "format_timedelta": "format_timedelta",
        "relative": "relative",
    }

    def filters(self) -> dict[str, Callable[..., str]]:
        return {name: getattr(self, method) for name, method in self.FILTERS.items()}

    def _native(self, text: str) -> str:
        return text.translate(self._digits) if self._digits else text

    def _remember(self, key: tuple[Any, ...], text: str) -> str:
        memo = self._memo
        if len(memo) >= _MEMO_SIZE:
            memo.clear()  # bounded whatever the data; the values a run repeats come back
        memo[key] = text
        return text

    def format_date(self, value: date | datetime, format: str = "long") -> str:
        """A date in this locale: 'March 21, 2025', '۱ فروردین ۱۴۰۴', '2025年3月21日'."""
        key = _memo_key("date", value, format)
        if key is not None and (known := self._memo.get(key)) is not None:
            return known
        day = _require(value, "format_date")
        if isinstance(day, datetime):
            day = day.date()
        text = None
        if self._solar_hijri and format in _NAMED_FORMATS:
            text = self._persian_date(day, format)
        if text is None:
            text = babel_dates.format_date(day, format, locale=self.locale)
        text = self._native(text)
        return text if key is None else self._remember(key, text)

    def format_datetime(
        self,
        value: datetime | date,
        format: str = "medium",
        tzinfo: str | Any | None = None,
    ) -> str:
        """A moment in this locale, in ``tzinfo`` (a zone name such as 'Asia/Tehran').

        A naive datetime is taken to be UTC, as everywhere in Rapport.
        """
        moment = _require(value, "format_datetime")
        if not isinstance(moment, datetime):
            moment = datetime.combine(moment, time())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if tzinfo is not None:
            zone = babel_dates.get_timezone(tzinfo) if isinstance(tzinfo, str) else tzinfo
            moment = moment.astimezone(zone)
        if self._solar_hijri and format in _NAMED_FORMATS:
            day = self._persian_date(moment.date(), format)
            if day is not None:
                clock = babel_dates.format_time(moment, format, locale=self.locale)
                pattern = str(self.locale.datetime_formats[format]).replace("'", "")
                return self._native(pattern.replace("{0}", clock).replace("{1}", day))
        return self._native(babel_dates.format_datetime(moment, format, locale=self.locale))

    def format_decimal(self, value: int | float | Decimal, format: str | None = None) -> str:
        key = _memo_key("decimal", value, format)
        if key is not None and (known := self._memo.get(key)) is not None:
            return known
        number = _require(value, "format_number")
        text = self._native(
            babel_numbers.format_decimal(
                number, format, locale=self.locale, numbering_system=self._numbering
            )
        )
        return text if key is None else self._remember(key, text)

    def format_percent(self, value: int | float | Decimal, format: str | None = None) -> str:
        """A ratio as a percentage: 0.15 -> '15%' ('۱۵٪' in Persian)."""
        key = _memo_key("percent", value, format)
        if key is not None and (known := self._memo.get(key)) is not None:
            return known
        number = _require(value, "format_percent")
        text = babel_numbers.format_percent(
            number, format, locale=self.locale, numbering_system=self._numbering
        )
        text = self._native(text.replace("%", self._percent_sign))
        return text if key is None else self._remember(key, text)

    def format_currency(
        self, amount: int | float | Decimal, currency: str, format: str | None = None
    ) -> str:
        key = _memo_key("currency", amount, currency, format)
        if key is not None and (known := self._memo.get(key)) is not None:
            return known
        number = _require(amount, "format_currency")
        text = self._native(
            babel_numbers.format_currency(
                number, currency, format, locale=self.locale, numbering_system=self._numbering
            )
        )
        return text if key is None else self._remember(key, text)

    def format_timedelta(
        self,
        value: timedelta | int | float,
        granularity: str = "second",
        threshold: float = 0.85,
        add_direction: bool = False,
        format: str = "long",
    ) -> str:
        """A duration in words: '3 days', '۳ روز', '3天' (a number is seconds, as in Babel)."""
        key = _memo_key("timedelta", value, granularity, threshold, add_direction, format)
        if key is not None and (known := self._memo.get(key)) is not None:
            return known
        delta = _require(value, "format_timedelta")
        text = self._native(
            babel_dates.format_timedelta(
                delta,
                granularity=granularity,  # type: ignore[arg-type]
                threshold=threshold,
                add_direction=add_direction,
                format=format,  # type: ignore[arg-type]
                locale=self.locale,
            )
        )
        return text if key is None else self._remember(key, text)

    def relative(
        self,
        value: date | datetime | timedelta,
        base: date | datetime | None = None,
        granularity: str | None = None,
    ) -> str:
        """``value`` as seen from ``base``: '3 days ago', '۳ روز پیش', '3天前', 'in 2 weeks'.

        ``base`` is required for a date: a template must say "ago from when" (the
        occasion's date, say), because a render has no clock of its own and the same
        message must read the same whenever it is rendered. Dates are compared by day.
        """
        moment = _require(value, "relative")
        if isinstance(moment, timedelta):
            delta, unit = moment, granularity or "second"
        else:
            if base is None:
                raise ValueError("relative needs a date to compare with: value | relative(base)")
            if isinstance(moment, datetime) and isinstance(base, datetime):
                delta, unit = moment - base, granularity or "second"
            else:
                delta = _day_of(moment) - _day_of(base)
                unit = granularity or "day"
        return self.format_timedelta(delta, unit, add_direction=True)

    def _persian_date(self, day: date, format: str) -> str | None:
        parts = solar_hijri(day)
        if parts is None:
            return None
        year, month, dom = parts
        if format == "short":
            return f"{year}/{month}/{dom}"
        text = f"{dom} {_PERSIAN_MONTHS[month - 1]} {year}"
        if format == "full":
            text = f"{self._day_names[day.weekday()]} {text}"
        return text


#: Results one :class:`LocaleFormats` remembers before it starts again.
_MEMO_SIZE = 4096
#: Values whose formatting depends on their value alone. Decimals and floats are
#: keyed by their text: Decimal('-0') equals Decimal('0') but prints with a sign.
_MEMO_BY_VALUE = frozenset({int, date, timedelta})
_MEMO_BY_TEXT = frozenset({Decimal, float})
_MEMO_ARGUMENTS = frozenset({str, int, float, bool, type(None)})


def _memo_key(kind: str, value: Any, *arguments: Any) -> tuple[Any, ...] | None:
    """The key a formatted result is remembered under, or None to format afresh.

    The exact type is part of the key, so ``1``, ``True``, ``1.0`` and
    ``Decimal(1)`` never share an entry; arguments must be plain scalars too.
    """
    value_type = type(value)
    if value_type in _MEMO_BY_VALUE:
        shown: Any = value
    elif value_type in _MEMO_BY_TEXT:
        shown = str(value)
    else:
        return None
    for argument in arguments:
        if type(argument) not in _MEMO_ARGUMENTS:
            return None
    return (kind, value_type, shown, *arguments)


def _day_of(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _require(value: Any, name: str) -> Any:
    # Babel formats None as "now"; a missing date must be an error, not today's date.
    if value is None:
        raise ValueError(f"{name} was given no value (None)")
    return value


#: The locale of the customer being rendered for, read by the filters so they format
#: for that customer. A context variable rather than a context key: the template
#: context is the marketer's namespace, and this must hold across threads.
_CUSTOMER_LOCALE: ContextVar[str | None] = ContextVar("rapport_customer_locale", default=None)


# --------------------------------------------------------------------------- sandbox


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus a guard on ``*`` and ``**``.

    The output cap only sees what a template prints; ``'x' * 10**10`` would allocate
    gigabytes before printing anything, so repetition and powers are checked first.
    """

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, max_chars: int, **options: Any) -> None:
        super().__init__(**options)
        self.max_chars = max_chars

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``customer.first_name`` on a plain dict: the key, without the failed lookup first.

        The sandbox tries ``getattr(obj, name)`` and falls back to ``obj[name]`` only
        after an ``AttributeError``, so every dotted name in a template (nearly all of
        them read the context's dicts) paid for raising and catching an exception. A
        plain ``dict`` has no attribute beyond ``dir(dict)``, so for any other name the
        sandbox's answer is the key or undefined, exactly as returned here; the names
        of dict's own attributes (``items``, ``__class__``) still take the sandbox's
        path with its safety checks.
        """
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except LookupError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(count, int)
                    and len(seq) * count > self.max_chars
                ):
                    raise SecurityError("repetition would exceed the output size limit")
        elif (
            isinstance(left, int)
            and isinstance(right, int)
            and right > 0
            and left.bit_length() * right > 4 * self.max_chars
        ):
            raise SecurityError("power is too large")
        return super().call_binop(context, operator, left, right)


#: What ``getattr`` can find on a plain dict: its own and ``object``'s attributes.
_DICT_ATTRIBUTES = frozenset(dir(dict))


def _finalize(value: Any) -> Any:
    return "" if value is None else value


# --------------------------------------------------------------------------- renderer


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """One rendered message, ready for a channel adapter.

    ``locale`` is the template folder actually used, which may be a fallback of the
    customer's locale; it is recorded so a report can show who got a fallback.
    """

    subject: str | None
    text: str
    html: str | None
    locale: str


_Resolved = tuple[str, dict[str, Template]]
#: Nodes that bring in another template, whose variables a parse of this one misses.
_OTHER_TEMPLATES = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)


class Renderer:
    """Renders campaign templates; one per process, shared by every message.

    Environments, compiled templates (and compile errors) and fallback decisions are
    cached for the life of the renderer, so a message costs no compile, no file-system
    access and no locale parsing, only the render itself. Safe to share between
    threads: the caches only ever gain equivalent entries.
    """

    def __init__(
        self,
        templates_dir: Path,
        default_locale: str,
        *,
        max_output_chars: int = MAX_OUTPUT_CHARS,
    ) -> None:
        self.templates_dir = Path(templates_dir).resolve()
        self.default_locale = default_locale
        self.max_output_chars = max_output_chars
        self._root = str(self.templates_dir) + os.sep
        self._loader = FileSystemLoader(str(self.templates_dir))
        self._lock = threading.Lock()
        self._environments: dict[str, _Sandbox] = {}
        self._templates: dict[tuple[str, str, str], Template] = {}
        self._broken: dict[tuple[str, str, str], Problem] = {}
        self._exists: dict[str, bool] = {}
        self._resolved: dict[tuple[str, str, str], _Resolved] = {}
        self._formats: dict[str, LocaleFormats] = {}
        self._format_locales: dict[tuple[str, str | None], str] = {}
        self._reads: dict[tuple[str, str, str, str], bool] = {}
        self._trees: dict[tuple[str, str, str], nodes.Template] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Renderer:
        return cls(settings.templates_path, settings.locales.default)

    # ----------------------------------------------------------------- public API

    def render(
        self,
        template_set: str,
        channel: ChannelKind,
        locale: str,
        context: Mapping[str, Any],
    ) -> RenderedMessage:
        """Render one message for a customer whose locale is ``locale``.

        Raises :class:`TemplateMissing` when no folder in the fallback chain has the
        channel's required parts, :class:`TemplateProblemError` (or a subclass) for
        anything wrong inside a template, :class:`ContextError` for non-plain data
        (a :class:`PlainContext` was checked where it was built, so it is not walked).
        """
        if type(context) is not PlainContext:
            check_plain(context)
        key = (template_set, channel, locale)
        resolved = self._resolved.get(key)
        if resolved is None:
            resolved = self._resolve(template_set, channel, locale)
            self._resolved[key] = resolved
        used, templates = resolved
        token = _CUSTOMER_LOCALE.set(locale)
        try:
            out = {
                part: self._render_template(part, tpl, context) for part, tpl in templates.items()
            }
        finally:
            _CUSTOMER_LOCALE.reset(token)
        if channel == "sms":
            return RenderedMessage(subject=None, text=out[SMS_TEXT], html=None, locale=used)
        return RenderedMessage(
            subject=out[EMAIL_SUBJECT], text=out[EMAIL_TEXT], html=out.get(EMAIL_HTML), locale=used
        )

    def reads(self, template_set: str, channel: ChannelKind, locale: str, name: str) -> bool:
        """Whether the message ``render`` would produce could read the variable ``name``
        (``"recommendation"``), or one key of it (``"links.feedback"``).

        Lets the caller skip building costly context values no template asks for (the
        run's co-purchase index, a signed link). Errs towards yes: a template that
        includes, imports or extends another, that uses the variable other than by a
        literal key, or that cannot be resolved or parsed, reads it.
        """
        key = (template_set, channel, locale, name)
        known = self._reads.get(key)
        if known is None:
            known = self._find_reads(template_set, channel, locale, name)
            self._reads[key] = known
        return known

    def _find_reads(self, template_set: str, channel: ChannelKind, locale: str, name: str) -> bool:
        try:
            used = self.locale_for(template_set, channel, locale)
            for part in self.parts_present(template_set, channel, used):
                tree = self._tree(template_set, part, used)
                if next(tree.find_all(_OTHER_TEMPLATES), None) is not None:
                    return True
                if _reads(tree, name):
                    return True
        except (CampaignError, TemplateSyntaxError, OSError):
            return True
        return False

    def _tree(self, template_set: str, part: str, template_locale: str) -> nodes.Template:
        """A template file's syntax tree, parsed once for every question :meth:`reads`
        asks of it."""
        key = (template_set, part, template_locale)
        tree = self._trees.get(key)
        if tree is None:
            source = self.source_of(template_set, part, template_locale)
            tree = self._trees[key] = self.environment(template_locale).parse(source)
        return tree

    def locale_for(self, template_set: str, channel: ChannelKind, locale: str) -> str:
        """The template folder a customer with ``locale`` gets, by file presence alone."""
        parts = _parts(channel)
        chain = locale_chain(locale, self.default_locale)
        for candidate in chain:
            if all(self._has(_name(template_set, candidate, p)) for p in parts.required):
                return candidate
        raise TemplateMissing(self._missing_problem(template_set, channel, locale, chain))

    def parts_present(
        self, template_set: str, channel: ChannelKind, template_locale: str
    ) -> list[str]:
        """The channel's parts that exist in one template folder (required first)."""
        return [
            p for p in _parts(channel).all if self._has(_name(template_set, template_locale, p))
        ]

    def render_part(
        self,
        template_set: str,
        part: str,
        template_locale: str,
        context: Mapping[str, Any],
        *,
        customer_locale: str | None = None,
    ) -> str:
        """Render one part of one folder, with the same checks :meth:`render` applies.

        Validation uses this to report a broken subject *and* a broken body in one pass.
        ``customer_locale`` formats as for that customer (default: as the folder's).
        """
        if type(context) is not PlainContext:
            check_plain(context)
        template = self.template(template_set, part, template_locale)
        token = _CUSTOMER_LOCALE.set(customer_locale)
        try:
            return self._render_template(part, template, context)
        finally:
            _CUSTOMER_LOCALE.reset(token)

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

    def template(self, template_set: str, part: str, template_locale: str) -> Template:
        """The compiled template, compiled on first use and the same object afterwards."""
        key = (template_set, part, template_locale)
        compiled = self._templates.get(key)
        if compiled is not None:
            return compiled
        if key in self._broken:
            # A broken file stays broken until restart (no auto-reload): fail fast,
            # rather than compiling it again for each of a million customers.
            raise TemplateProblemError(self._broken[key])
        name = _name(template_set, template_locale, part)
        try:
            compiled = self.environment(template_locale).get_template(name)
        except TemplateSyntaxError as exc:
            problem = Problem(self._display(exc.filename, name), exc.lineno, exc.message or "")
            self._broken[key] = problem
            raise TemplateProblemError(problem) from exc
        except TemplateNotFound as exc:
            raise TemplateMissing(
                Problem(self._display(None, name), None, "template not found")
            ) from exc
        # Jinja keeps a template's globals as a ChainMap over the environment's, and
        # copies them into every render's context through Python-level ChainMap code.
        # No global changes once the environment exists, so a flat copy reads the same.
        compiled.globals = dict(compiled.globals)
        self._templates[key] = compiled
        return compiled

    def file_of(self, template_set: str, part: str, template_locale: str) -> str:
        """The file a part lives in, as shown in problems (relative to the working folder)."""
        return self._display(None, _name(template_set, template_locale, part))

    def folder_of(self, template_set: str, template_locale: str | None = None) -> str:
        """A template set's folder, or one locale's in it, as shown in problems."""
        name = f"{template_set}/{template_locale}" if template_locale else template_set
        return self._display(None, name)

    def source_of(self, template_set: str, part: str, template_locale: str) -> str:
        """The text of a template file, to point a problem at a line of it."""
        path = self.templates_dir / template_set / template_locale / part
        return path.read_text(encoding="utf-8")

    def environment(self, template_locale: str) -> ImmutableSandboxedEnvironment:
        """The one sandboxed environment for a template folder's locale."""
        env = self._environments.get(template_locale)
        if env is None:
            with self._lock:
                env = self._environments.get(template_locale)
                if env is None:
                    env = self._new_environment(template_locale)
                    self._environments[template_locale] = env
        return env

    # ----------------------------------------------------------------- internals

    def _new_environment(self, template_locale: str) -> _Sandbox:
        env = _Sandbox(
            self.max_output_chars,
            loader=self._loader,
            undefined=StrictUndefined,
            autoescape=select_autoescape(
                enabled_extensions=("html",), default_for_string=False, default=False
            ),
            auto_reload=False,
            cache_size=-1,  # never evict: an evicted template would be compiled again
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=_finalize,
        )
        env.filters.update(self._filters(template_locale))
        return env

    def _filters(self, template_locale: str) -> dict[str, Callable[..., str]]:
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
                customer_locale = _CUSTOMER_LOCALE.get()
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
                if _language(candidate) != folder.language:
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

    def _resolve(self, template_set: str, channel: ChannelKind, locale: str) -> _Resolved:
        used = self.locale_for(template_set, channel, locale)
        templates = {
            part: self.template(template_set, part, used)
            for part in self.parts_present(template_set, channel, used)
        }
        return used, templates

    def _has(self, name: str) -> bool:
        known = self._exists.get(name)
        if known is None:
            try:
                pieces = split_template_path(name)  # refuses '..', as the loader does
            except TemplateNotFound:
                pieces = None
            known = pieces is not None and os.path.isfile(os.path.join(self._root, *pieces))
            self._exists[name] = known
        return known

    def _render_template(self, part: str, template: Template, context: Mapping[str, Any]) -> str:
        try:
            text = self._capped(template, context)
        except TemplateProblemError:
            raise
        except Exception as exc:
            # Anything a template raises is the template's fault: the context is plain data.
            raise TemplateProblemError(self._runtime_problem(exc, template)) from exc
        if part == EMAIL_SUBJECT:
            text = text.strip()
            if "\n" in text or "\r" in text or "\0" in text:
                raise InvalidOutput(
                    self._problem(
                        template, "the subject must be a single line (it becomes a mail header)"
                    )
                )
        if not text or text.isspace():  # what ``not text.strip()`` says, without a copy
            raise InvalidOutput(self._problem(template, "renders to an empty text"))
        return text

    def _capped(self, template: Template, context: Mapping[str, Any]) -> str:
        """The template's output, refused as soon as it passes the size cap.

        What ``Template.render`` does (a new context, the compiled root function, the
        traceback rewritten to point at template lines), except that the output is
        taken :data:`_CHUNKS` chunks at a time and measured after each batch, so a
        runaway loop is stopped a batch past the cap rather than filling memory. The
        cap is a memory guard, so it must hold while the output is produced, not only
        once it is complete; batches keep that guard out of Python's per-chunk loop.
        """
        cap = self.max_output_chars
        try:
            # new_context merges the mapping into a fresh dict, as Template.render's copy did.
            jinja_context = template.new_context(context)  # type: ignore[arg-type]
            chunks = template.root_render_func(jinja_context)
            batch = list(islice(chunks, _CHUNKS))
            if len(batch) < _CHUNKS:  # the whole output in one batch: measure it joined
                text = "".join(batch)
                if len(text) <= cap:
                    return text
            else:
                size = sum(map(len, batch))
                parts = batch
                while size <= cap:
                    batch = list(islice(chunks, _CHUNKS))
                    size += sum(map(len, batch))
                    parts += batch
                    if len(batch) < _CHUNKS:
                        if size <= cap:
                            return "".join(parts)
                        break
        except Exception:
            template.environment.handle_exception()
        raise OutputTooLarge(self._problem(template, f"output exceeds {cap} characters"))

    def _problem(self, template: Template, message: str) -> Problem:
        return Problem(self._display(template.filename, template.name), None, message)

    def _runtime_problem(self, exc: Exception, template: Template) -> Problem:
        """Locate a render-time error in the innermost template frame of its traceback.

        Jinja rewrites tracebacks so that a template's frames carry the template's
        file name and line, which is exactly what the marketer needs.
        """
        filename, line = template.filename, None
        if isinstance(exc, TemplateSyntaxError) and exc.filename:
            # A syntax error in an included template surfaces only at render time.
            return Problem(self._display(exc.filename, exc.name), exc.lineno, exc.message or "")
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            if frame.f_code.co_filename.startswith(self._root):
                filename, line = frame.f_code.co_filename, lineno
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        if isinstance(exc, SecurityError):
            message = f"not allowed in a template: {message}"
        elif not hasattr(exc, "message"):
            message = f"{type(exc).__name__}: {message}"
        return Problem(self._display(filename, template.name), line, message)

    def _missing_problem(
        self, template_set: str, channel: ChannelKind, locale: str, chain: list[str]
    ) -> Problem:
        default = self.default_locale
        missing = [
            p for p in _parts(channel).required if not self._has(_name(template_set, default, p))
        ]
        file = self._display(None, _name(template_set, default, missing[0]))
        return Problem(
            file,
            None,
            f"no {channel} templates for locale {locale!r} (tried {', '.join(chain)});"
            f" {default!r} lacks {', '.join(missing)}",
        )

    def _display(self, filename: str | None, name: str | None) -> str:
        path = Path(filename) if filename else self.templates_dir / (name or "")
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)


def _reads(tree: nodes.Template, name: str) -> bool:
    """Whether a parsed template reads ``name`` or, for ``"variable.key"``, that key.

    A key is read through ``variable.key`` or ``variable["key"]``; any other use of the
    variable (passed to a filter, looped over, another key chosen at run time) may
    read every key, and so counts as reading it.
    """
    variable, _, key = name.partition(".")
    if variable not in meta.find_undeclared_variables(tree):
        return False
    if not key:
        return True
    keyed: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = node.node
        if not (isinstance(target, nodes.Name) and target.name == variable):
            continue
        if isinstance(node, nodes.Getattr):
            chosen = node.attr
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            chosen = node.arg.value
        else:
            return True
        if chosen == key:
            return True
        keyed.add(id(target))
    return any(
        id(found) not in keyed for found in tree.find_all(nodes.Name) if found.name == variable
    )


def _name(template_set: str, template_locale: str, part: str) -> str:
    return f"{template_set}/{template_locale}/{part}"


def _parts(channel: str) -> ChannelParts:
    try:
        return CHANNEL_PARTS[channel]
    except KeyError:
        raise ValueError(f"no templates for channel kind {channel!r}") from None


# --------------------------------------------------------------------------- context

_PLAIN_SCALARS = (str, int, float, Decimal, date, time, timedelta, type(None))
#: The exact types :func:`_plainly_built` accepts without the full walk: those of
#: ``_PLAIN_SCALARS``, plus the two subclasses contexts hold (bool and datetime).
_PLAIN_EXACT = frozenset(
    {str, int, bool, float, Decimal, date, datetime, time, timedelta, type(None)}
)
#: Containers :func:`_plainly_built` looks into before it leaves the verdict to the
#: full walk: a real context has about ten, and a cycle must not loop forever.
_PLAIN_CONTAINERS = 10_000


def check_plain(value: Any, path: str = "context") -> None:
    """Refuse anything but plain data, so no template can reach a live object.

    Runs before every render, so the common case is one cheap pass over the exact
    types :func:`~rapport.engine.planning.context.message_context` builds (a few microseconds
    a message); only a value outside them (a subclass, another mapping type, or a
    live object) takes the full walk, which accepts or refuses it as before and
    names where the offending value sits.
    """
    if not _plainly_built(value):
        _walk_plain(value, path)


def _plainly_built(value: Any) -> bool:
    """True if ``value`` is dicts with string keys, lists and tuples of exact plain types.

    False means "not proven here", not "refused": :func:`_walk_plain` decides.
    """
    pending = [value]
    budget = _PLAIN_CONTAINERS
    while pending:
        node = pending.pop()
        kind = type(node)
        budget -= 1
        if budget < 0:
            return False
        if kind is dict:
            for key, item in node.items():
                if type(key) is not str:
                    return False
                if type(item) not in _PLAIN_EXACT:
                    pending.append(item)
        elif kind is list or kind is tuple:
            for item in node:
                if type(item) not in _PLAIN_EXACT:
                    pending.append(item)
        elif kind not in _PLAIN_EXACT:
            return False
    return True


def _walk_plain(value: Any, path: str) -> None:
    if isinstance(value, _PLAIN_SCALARS):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ContextError(f"{path}: keys must be strings, not {type(key).__name__}")
            _walk_plain(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk_plain(item, f"{path}[{index}]")
        return
    raise ContextError(f"{path}: {type(value).__name__} is not plain data")


class PlainContext(dict[str, Any]):
    """A template context already checked to be plain data where it was built.

    :meth:`Renderer.render` walks any other mapping with :func:`check_plain` before
    rendering; walking every value of every message costs about a tenth of a render,
    and the builder knows better which values came from outside. Made only by
    :func:`plain_context`; treat it as read-only, since nothing added later is checked.
    """

    __slots__ = ()


def plain_context(context: Mapping[str, Any], parts: Iterable[Any]) -> PlainContext:
    """``context`` as a :class:`PlainContext`, once ``parts`` are found to be plain data.

    ``parts`` must hold every value of ``context`` that its builder did not make itself
    out of plain values: whatever it copied from a profile, a decision, a campaign or
    the settings. A scalar of an exact plain type passes at once and a dict or list is
    walked; anything else sends the whole context through :func:`check_plain`, which
    accepts it (a ``str`` subclass, say) or raises :class:`ContextError` naming the key.
    """
    for part in parts:
        kind = type(part)
        if kind in _PLAIN_EXACT or ((kind is dict or kind is list) and _plainly_built(part)):
            continue
        check_plain(context)
        break
    return PlainContext(context)


@dataclass(frozen=True, slots=True)
class _Persona:
    first_name: str
    last_name: str
    timezone: str
    country: str
    birthday: date
    currency: str
    lifetime_value: Decimal
    last_order_amount: Decimal
    holiday: str
    holiday_date: date
    reorder_date: date


_PERSONAS = {
    "en": _Persona(
        "Alex", "Morgan", "America/New_York", "US", date(1990, 6, 14), "USD",
        Decimal("486.50"), Decimal("118.00"), "Thanksgiving Day", date(2025, 11, 27),
        date(2025, 10, 6),
    ),
    "fa": _Persona(
        "سارا", "احمدی", "Asia/Tehran", "IR", date(1993, 4, 24), "IRR",
        Decimal("48500000"), Decimal("11800000"), "نوروز", date(2026, 3, 21),
        date(2025, 10, 6),
    ),
    "zh": _Persona(
        "伟", "王", "Asia/Shanghai", "CN", date(1988, 9, 9), "CNY",
        Decimal("3280.00"), Decimal("836.00"), "春节", date(2026, 2, 17), date(2025, 10, 6),
    ),
    "ar": _Persona(
        "ليلى", "حسن", "Africa/Cairo", "EG", date(1991, 7, 3), "EGP",
        Decimal("18500.00"), Decimal("4200.00"), "عيد الفطر", date(2026, 3, 20),
        date(2025, 10, 6),
    ),
}  # fmt: skip

#: Products the sample customer bought (favourite first) and may be recommended.
_SAMPLE_SKUS = ("SERUM-30ML", "CLEANSER-150ML", "MOISTURIZER-50ML", "GIFT-BOX")
#: Signs the sample's coupon codes: realistic codes that no real customer receives.
_SAMPLE_COUPON_KEY = "rapport-sample-context"


def sample_context(
    locale: str, campaign: Campaign, *, settings: Settings | None = None
) -> dict[str, Any]:
    """Realistic data for one customer of ``locale``, to validate and preview templates.

    A loyal, VIB-tier customer (a middle tier, if the operator's tiers have no VIB)
    with a favourite product, a recommendation, a last order and an occasion that
    fits the campaign's trigger, so every key of the context contract is present
    with a value and every branch a marketer is likely to write has something real
    to show; the names are in the customer's own script, the offer is resolved for
    the sample's tier, with a coupon code when the offer has one. Dates are fixed so
    validation is repeatable.
    """
    language = _language(locale)
    persona = _PERSONAS.get(language, _PERSONAS["en"])
    trigger = campaign.trigger
    kind = trigger.type
    tiers = [level.name for level in settings.tiers.levels] if settings else []
    tier = "vib" if not tiers or "vib" in tiers else tiers[len(tiers) // 2]
    stage = "loyal"
    when = persona.reorder_date
    holiday = sku = order_id = years = reached = None
    last_ordered: date | None = None
    if kind == "birthday":
        when = persona.birthday.replace(year=2026)
        years = when.year - persona.birthday.year
    elif kind == "anniversary":
        when = date(2026, 5, 12)
        years = min(getattr(trigger, "years", None) or [3])
    elif kind == "holiday":
        when = persona.holiday_date
        names = getattr(trigger, "names", None)
        holiday = names[0] if names else persona.holiday
    elif kind == "reorder":
        skus = getattr(trigger, "skus", {}) or {}
        sku = next(iter(skus), _SAMPLE_SKUS[0])
        interval = skus.get(sku) or getattr(trigger, "days_after", None) or 30
        last_ordered = when - timedelta(days=interval)
    elif kind in ("welcome", "feedback"):
        days = getattr(trigger, "days_after", None) or getattr(trigger, "days_after_order", 0)
        if getattr(trigger, "after", "first_order") == "first_order":
            sku, order_id = _SAMPLE_SKUS[0], "SAMPLE-1042"
            last_ordered = when - timedelta(days=days)
    elif kind == "winback":
        stage = "at_risk"
        last_ordered = when - timedelta(days=getattr(trigger, "days_without_order", 90))
    elif kind == "tier_reached":
        targets = getattr(trigger, "tiers", None)
        reached = tier = targets[-1] if targets else tier
    last_day = last_ordered or when - timedelta(days=30)
    favourite = sku or _SAMPLE_SKUS[0]
    others = [s for s in _SAMPLE_SKUS if s != favourite]
    base_url = (settings.web.base_url if settings else "http://127.0.0.1:8000").rstrip("/")
    postal = (
        settings.sender.postal_address if settings else "Rapport, 1 Example Street, Example City"
    )
    customer_id = f"sample-{language}"
    segment = "at_risk" if stage == "at_risk" else "loyal"
    return {
        "customer": {
            "id": customer_id,
            "first_name": persona.first_name,
            "last_name": persona.last_name,
            "full_name": full_name(persona.first_name, persona.last_name, locale),
            "locale": locale,
            "timezone": persona.timezone,
            "country": persona.country,
            "birthday": persona.birthday,
            "stage": stage,
            "tier": tier,
            "segment": segment,
            "order_count": 7,
            "lifetime_value": persona.lifetime_value,
            "currency": persona.currency,
            "days_since_last_order": (when - last_day).days,
        },
        "campaign": {"id": campaign.id, "name": campaign.name, "topic": campaign.topic},
        "occasion": {
            "kind": kind,
            "date": when,
            "name": holiday,
            "sku": sku,
            "last_ordered_at": last_ordered,
            "order_id": order_id,
            "years": years,
            "tier": reached,
            "days_since_last_order": (when - last_day).days,
        },
        "last_order": {
            "id": order_id or "SAMPLE-1042",
            "day": last_day,
            "items": [{"sku": favourite, "quantity": 2}, {"sku": others[0], "quantity": 1}],
            "amount": persona.last_order_amount,
            "currency": persona.currency,
        },
        "favourite_sku": favourite,
        "recommendation": others[1],
        "offer": personal_offer(
            campaign.offer.model_dump(exclude_none=True),
            tier=tier,
            segment=segment,
            campaign_id=campaign.id,
            customer_id=customer_id,
            occasion_key=f"{kind}:sample",
            key=_SAMPLE_COUPON_KEY,
            source=campaign.source or campaign.id,
        ),
        "links": {
            "preferences": f"{base_url}/preferences/SAMPLE-TOKEN",
            "unsubscribe": f"{base_url}/unsubscribe/SAMPLE-TOKEN",
            "feedback": f"{base_url}/feedback/SAMPLE-TOKEN",
        },
        "sender": {"postal_address": postal},
    }
