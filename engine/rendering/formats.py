"""Numbers, dates and durations in one locale: Babel bound to a parsed locale.

A template's filters (``format_date``, ``format_currency``, ``relative`` and the
rest, listed in :attr:`LocaleFormats.FILTERS`) format in the language of the template
folder, so the numbers and dates match the words around them;
:mod:`rapport.engine.rendering.filters` picks which locale that is for a customer.
Numbers use the locale's default numbering system (CLDR's, see
:func:`rapport.engine.core.i18n.numbering_system`): Persian output has Persian
digits and separators (``۱٬۵۰۰٬۰۰۰``), Egyptian Arabic Arabic-Indic digits, where
Babel alone picks the native separators but keeps ASCII digits. The symbols of a
number pattern are the locale's too, which Babel leaves as written: a negative
number takes CLDR's minus sign (``\u200e−۵`` in Persian, ``\u061c-٥`` in Egyptian
Arabic), a percentage its percent sign (``۱۵٪``).

Persian dates are Solar Hijri (:mod:`rapport.engine.rendering.solar_hijri`, on the
jdatetime library), for the named formats (``short``, ``medium``, ``long``,
``full``) and custom Babel patterns (``"d MMMM y"`` is ``۱ فروردین ۱۴۰۴``) alike; a
template asks for the Gregorian calendar by name: ``format_date("d MMMM y",
calendar="gregorian")``. A missing value (``None``) is an error, never today's date.

Speed: Babel is most of the cost of a rich render, so a :class:`LocaleFormats` holds a
parsed ``babel.Locale`` (never a locale string) and its numbering system, looked up
once, and remembers what it formatted (see :func:`_memo_key`).
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from babel import Locale, localedata
from babel import dates as babel_dates
from babel import numbers as babel_numbers

from rapport.engine.core.i18n import DIGITS
from rapport.engine.rendering.solar_hijri import format_solar_hijri, solar_hijri

__all__ = ["CALENDARS", "LocaleFormats", "solar_hijri"]

_NAMED_FORMATS = frozenset({"short", "medium", "long", "full"})
#: The units and styles Babel words a duration in (it refuses any other).
Granularity = Literal["year", "month", "week", "day", "hour", "minute", "second"]
DurationFormat = Literal["narrow", "short", "medium", "long"]
#: The calendars a template may name: ``gregorian`` anywhere, ``persian`` (Solar
#: Hijri, the default of Persian) in Persian only.
CALENDARS = frozenset({"gregorian", "persian"})
#: Characters of a number pattern that stand for a locale's symbol (LDML).
_NUMBER_SYMBOLS = {"-": "minusSign", "+": "plusSign", "%": "percentSign", "‰": "perMille"}


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

    def __init__(self, locale: Locale, numbering: str | None = None) -> None:
        """``numbering`` overrides CLDR's default numbering system of ``locale``."""
        self.locale = locale
        system = numbering or locale.default_numbering_system
        if system in DIGITS and system != "latn" and system in locale.number_symbols:
            # Babel picks the native separators but keeps ASCII digits; swap them here.
            self._numbering = system
            self._digits: dict[int, int] | None = str.maketrans("0123456789", DIGITS[system])
        else:
            self._numbering = "latn"
            self._digits = None
        # Babel keeps a pattern's '-' and '%' as written ('-۱۵%', not '\u200e−۱۵٪').
        symbols = locale.number_symbols[self._numbering]
        self._symbols = {char: symbols.get(name, char) for char, name in _NUMBER_SYMBOLS.items()}
        self._calendar = "persian" if locale.language == "fa" else "gregorian"
        self._patterns: dict[tuple[str, str | None], babel_numbers.NumberPattern] = {}
        self._memo: dict[tuple[Any, ...], str] = {}
        self._day_words: dict[int, str] | None = None

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

    def format_date(
        self, value: date | datetime, format: str = "long", calendar: str | None = None
    ) -> str:
        """A date in this locale: 'March 21, 2025', '۱ فروردین ۱۴۰۴', '2025年3月21日'.

        ``format`` is a named format or a Babel pattern, rendered in the locale's
        calendar (Solar Hijri in Persian) unless ``calendar`` names another.
        """
        key = _memo_key("date", value, format, calendar)
        if key is not None and (known := self._memo.get(key)) is not None:
            return known
        day = _require(value, "format_date", _DATES, "a date")
        if isinstance(day, datetime):
            day = day.date()
        if self._calendar_for(calendar) == "persian":
            text = format_solar_hijri(day, format, self.locale)
        else:
            text = babel_dates.format_date(day, format, locale=self.locale)
        text = self._native(text)
        return text if key is None else self._remember(key, text)

    def format_datetime(
        self,
        value: datetime | date,
        format: str = "medium",
        tzinfo: str | Any | None = None,
        calendar: str | None = None,
    ) -> str:
        """A moment in this locale, in ``tzinfo`` (a zone name such as 'Asia/Tehran').

        A naive datetime is taken to be UTC, as everywhere in Rapport. The date is in
        the locale's calendar unless ``calendar`` names another (see :meth:`format_date`).
        """
        _short_patterns((format, tzinfo, calendar))
        moment = _require(value, "format_datetime", _DATES, "a date or datetime")
        if not isinstance(moment, datetime):
            moment = datetime.combine(moment, time())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if tzinfo is not None:
            zone = babel_dates.get_timezone(tzinfo) if isinstance(tzinfo, str) else tzinfo
            moment = moment.astimezone(zone)
        if self._calendar_for(calendar) == "persian":
            if format not in _NAMED_FORMATS:
                return self._native(format_solar_hijri(moment, format, self.locale))
            day = format_solar_hijri(moment, format, self.locale)
            clock = babel_dates.format_time(moment, format, locale=self.locale)
            pattern = str(self.locale.datetime_formats[format]).replace("'", "")
            return self._native(pattern.replace("{0}", clock).replace("{1}", day))
        return self._native(babel_dates.format_datetime(moment, format, locale=self.locale))

    def format_decimal(self, value: int | float | Decimal, format: str | None = None) -> str:
        key = _memo_key("decimal", value, format)
        if key is not None and (known := self._memo.get(key)) is not None:
            return known
        number = _require(value, "format_number", _NUMBERS, "a number")
        text = self._native(self._apply("decimal", format, number))
        return text if key is None else self._remember(key, text)

    def format_percent(self, value: int | float | Decimal, format: str | None = None) -> str:
        """A ratio as a percentage: 0.15 -> '15%' ('۱۵٪' in Persian), 0.125 -> '12.5%'
        (the locale's pattern, with up to two decimals where the value has them)."""
        key = _memo_key("percent", value, format)
        if key is not None and (known := self._memo.get(key)) is not None:
            return known
        number = _require(value, "format_percent", _NUMBERS, "a number")
        text = self._native(self._apply("percent", format, number))
        return text if key is None else self._remember(key, text)

    def format_currency(
        self, amount: int | float | Decimal, currency: str, format: str | None = None
    ) -> str:
        key = _memo_key("currency", amount, currency, format)
        if key is not None and (known := self._memo.get(key)) is not None:
            return known
        number = _require(amount, "format_currency", _NUMBERS, "a number")
        if not isinstance(currency, str) or currency not in _currency_codes():
            raise ValueError(_unknown_currency(currency))
        text = self._native(self._apply("currency", format, number, currency))
        return text if key is None else self._remember(key, text)

    def format_timedelta(
        self,
        value: timedelta | int | float,
        granularity: Granularity = "second",
        threshold: float = 0.85,
        add_direction: bool = False,
        format: DurationFormat = "long",
    ) -> str:
        """A duration in words: '3 days', '۳ روز', '3天' (a number is seconds, as in Babel)."""
        key = _memo_key("timedelta", value, granularity, threshold, add_direction, format)
        if key is not None and (known := self._memo.get(key)) is not None:
            return known
        delta = _require(value, "format_timedelta", _DURATIONS, "a timedelta or seconds")
        text = self._native(
            babel_dates.format_timedelta(
                delta,
                granularity=granularity,
                threshold=threshold,
                add_direction=add_direction,
                format=format,
                locale=self.locale,
            )
        )
        return text if key is None else self._remember(key, text)

    def relative(
        self,
        value: date | datetime | timedelta,
        base: date | datetime | None = None,
        granularity: Granularity | None = None,
    ) -> str:
        """``value`` as seen from ``base``: '3 days ago', '۳ روز پیش', '3天前', 'in 2 weeks'.

        ``base`` is required for a date: a template must say "ago from when" (the
        occasion's date, say), because a render has no clock of its own and the same
        message must read the same whenever it is rendered. Dates are compared by day,
        and the days next to ``base`` have the words the language has for them (CLDR's
        "today", "yesterday", "tomorrow"; "پریروز" and "前天" two days away): Babel's
        durations alone wrote "in 0 days" for the same day and "1 day ago" for yesterday.
        """
        moment = _require(value, "relative", _MOMENTS, "a date, datetime or timedelta")
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
                if granularity is None and (word := self._day_word(delta.days)):
                    return word
        return self.format_timedelta(delta, unit, add_direction=True)

    def _day_word(self, days: int) -> str | None:
        """The language's own word for the day ``days`` away, where CLDR has one."""
        if self._day_words is None:
            try:
                fields = localedata.load(str(self.locale))["date_fields"]["day"]["relative"]
                self._day_words = {int(k): str(v) for k, v in fields.items()}
            except (KeyError, OSError, ValueError):
                self._day_words = {}
        return self._day_words.get(days)

    def _calendar_for(self, calendar: str | None) -> str:
        if calendar is None:
            return self._calendar
        if calendar not in CALENDARS:
            raise ValueError(f"unknown calendar {calendar!r}: use 'gregorian' or 'persian'")
        if calendar == "persian" and self.locale.language != "fa":
            raise ValueError("Solar Hijri ('persian') dates are written in Persian only")
        return calendar

    def _apply(
        self, kind: str, format: str | None, number: Any, currency: str | None = None
    ) -> str:
        """Babel's formatting of ``number``, with the pattern's symbols in this locale's
        forms (Babel substitutes the digits' separators but keeps '-', '+' and '%')."""
        pattern = self._patterns.get((kind, format))
        if pattern is None:
            pattern = self._localized_pattern(kind, format)
        return pattern.apply(
            number, self.locale, currency=currency, numbering_system=self._numbering
        )

    def _localized_pattern(self, kind: str, format: str | None) -> babel_numbers.NumberPattern:
        if format is not None:
            parsed = babel_numbers.parse_pattern(format)
        elif kind == "percent":
            parsed = self.locale.percent_formats[None]
        elif kind == "currency":
            parsed = self.locale.currency_formats["standard"]
        else:
            parsed = self.locale.decimal_formats[None]
        pattern = copy.copy(parsed)  # Babel's parsed patterns are shared: never edit them
        if kind == "percent" and format is None:
            # CLDR's percent patterns have no decimals: a 12.5% discount would read
            # '12%', 0.5% '0%' and 99.5% '100%'. Up to two decimals, none when whole.
            pattern.frac_prec = (parsed.frac_prec[0], max(parsed.frac_prec[1], 2))
        pattern.prefix = (self._symbolic(parsed.prefix[0]), self._symbolic(parsed.prefix[1]))
        pattern.suffix = (self._symbolic(parsed.suffix[0]), self._symbolic(parsed.suffix[1]))
        if len(self._patterns) >= _PATTERNS_SIZE:
            self._patterns.clear()
        self._patterns[(kind, format)] = pattern
        return pattern

    def _symbolic(self, affix: str) -> str:
        """A pattern's prefix or suffix with its symbols localized, quoted text kept."""
        parts = affix.split("'")
        parts[::2] = ["".join(self._symbols.get(c, c) for c in part) for part in parts[::2]]
        return "'".join(parts)


#: Results one :class:`LocaleFormats` remembers before it starts again.
_MEMO_SIZE = 4096
#: Number patterns one :class:`LocaleFormats` keeps with its symbols localized.
_PATTERNS_SIZE = 256
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
    _short_patterns(arguments)
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


#: Characters a format pattern or a currency code may have. Real ones have under 40;
#: Babel keeps a thousand parsed patterns, and we remember results keyed by them.
MAX_PATTERN = 100


def _short_patterns(arguments: tuple[Any, ...]) -> None:
    for argument in arguments:
        if isinstance(argument, str) and len(argument) > MAX_PATTERN:
            raise ValueError(
                f"a format pattern may have at most {MAX_PATTERN} characters "
                f"(this one has {len(argument):,})"
            )


def _day_of(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


#: What each kind of filter formats. A filter given anything else says what it needs:
#: Babel's own failure ("AssertionError", "InvalidOperation: [<class
#: 'decimal.ConversionSyntax'>]") tells a marketer nothing.
_DATES = (date,)  # a datetime is a date
_NUMBERS = (int, float, Decimal)
_DURATIONS = (timedelta, int, float, Decimal)
_MOMENTS = (date, timedelta)


def _require(value: Any, name: str, kinds: tuple[type, ...], needs: str) -> Any:
    """``value``, if it is one of ``kinds``; the error names its type, never the value
    (a template may pass a customer's name)."""
    # Babel formats None as "now"; a missing date must be an error, not today's date.
    if value is None:
        raise ValueError(f"{name} was given no value (None)")
    if not isinstance(value, kinds):
        raise TypeError(f"{name} needs {needs}, not {type(value).__name__}")
    return value


@lru_cache(maxsize=1)
def _currency_codes() -> frozenset[str]:
    """ISO 4217 codes, as Babel lists them (as config.yaml's rates are checked)."""
    return frozenset(babel_numbers.list_currencies())


def _unknown_currency(currency: object) -> str:
    """Why ``format_currency`` refuses a code: Babel would print 'usd5.00' for it."""
    if not isinstance(currency, str):
        return f"format_currency needs a currency code, not {type(currency).__name__}"
    close = difflib.get_close_matches(currency.upper(), sorted(_currency_codes()), n=1)
    return (
        f"format_currency: {currency!r} is not an ISO 4217 currency code in capitals "
        "(e.g. USD, EUR, IRR)" + (f"; did you mean {close[0]!r}?" if close else "")
    )
