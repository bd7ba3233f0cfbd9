"""Calendars of holidays per country, from the ``holidays`` package.

Building a country's calendar for a year is costly next to looking a day up in it,
so calendars are cached per (country, year, categories); the planner asks millions
of times. Names are English here (``en_US``); :func:`holiday_name` translates.
"""

from __future__ import annotations

import gettext
import importlib.util
import re
import sys
import threading
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from pathlib import Path

import holidays
from babel import Locale, UnknownLocaleError, parse_locale
from babel.core import get_global
from babel.lists import format_list

from rapport.engine.triggers.names import join_names, polish

_LOCALES = Path(holidays.__file__).parent / "locale"


def _import_countries_one_by_one() -> None:
    """Let ``holidays`` import one country's module without importing them all.

    ``holidays.countries`` is a package whose ``__init__`` imports its 250 country
    modules (about 100 ms, more than all of ``explain``'s deciding), and a country's
    calendar lives in one of them. The package is registered here without running
    that ``__init__``, so building Iran's calendar imports ``holidays.countries.iran``
    alone; the first time anything else is asked of the package (``from
    holidays.countries import Iran``), its ``__init__`` runs and it is complete.
    """
    name = "holidays.countries"
    spec = importlib.util.find_spec(name) if name not in sys.modules else None
    if spec is None or spec.loader is None:
        return
    package = importlib.util.module_from_spec(spec)
    lock = threading.Lock()

    def complete(attribute: str) -> object:
        with lock:
            if package.__dict__.pop("__getattr__", None) is not None:
                spec.loader.exec_module(package)  # type: ignore[union-attr]
        return getattr(package, attribute)

    package.__getattr__ = complete  # type: ignore[method-assign]
    sys.modules[name] = package
    holidays.countries = package


_import_countries_one_by_one()

PUBLIC = ("public",)
_ESTIMATED = re.compile(r"\s*\(estimated\)$")


@lru_cache(maxsize=1024)
def _calendar(
    country: str,
    year: int,
    categories: tuple[str, ...] = PUBLIC,
    observed: bool = True,
    language: str = "en_US",
) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays(
            country, years=year, language=language, categories=categories, observed=observed
        )
    except NotImplementedError:
        return None


@lru_cache(maxsize=512)
def _probe(country: str) -> holidays.HolidayBase | None:
    """The country's calendar class, without computing any year."""
    try:
        return holidays.country_holidays(country)
    except NotImplementedError:
        return None


def has_calendar(country: str | None) -> bool:
    if not country:
        return False
    return _probe(country.upper()) is not None


#: Feasts of the Islamic calendar whose days off may begin before the feast (Saudi
#: Arabia's Eid al-Fitr holiday from the last day of Ramadan, the Emirates' from 29
#: Ramadan, Pakistan's Eid al-Adha from the day of Arafah): the English words their
#: names hold, and the finder of the feast's first day in the country's Islamic
#: calendar (the ``holidays`` package's, as the country's days off are).
_FEASTS = (("Eid al-Fitr", "eid_al_fitr_dates"), ("Eid al-Adha", "eid_al_adha_dates"))


@lru_cache(maxsize=4096)
def before_its_feast(country: str, day: date, name: str) -> bool:
    """Whether the holiday ``name`` on ``day`` is a day off before the first day of the
    Eid it is named after: still a day of fasting (30 Ramadan, Arafah), an eve, not the
    feast."""
    feast = next((finder for words, finder in _FEASTS if words in name), None)
    calendar = _probe(country.upper()) if feast else None
    islamic = getattr(calendar, "_islamic_calendar", None)
    if feast is None or islamic is None:
        return False
    for year in (day.year, day.year + 1):
        for first_day, _estimated in getattr(islamic, feast)(year):
            if 0 < (first_day - day).days <= 3:
                return True
    return False


@lru_cache(maxsize=512)
def supported_categories(country: str) -> frozenset[str]:
    """The holiday categories the country's calendar has (empty without a calendar)."""
    calendar = _probe(country.upper())
    if calendar is None:
        return frozenset()
    return frozenset(getattr(calendar, "supported_categories", None) or PUBLIC)


def _categories(country: str, wanted: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(sorted(set(wanted or PUBLIC) & supported_categories(country)))


def holidays_on(country: str | None, day: date) -> list[str]:
    """English names of the public holidays of ``country`` on ``day`` (may be empty)."""
    if not country:
        return []
    calendar = _calendar(country.upper(), day.year)
    if calendar is None:
        return []
    names = calendar.get_list(day)
    return [str(name) for name in names]


def celebrated_on(
    country: str | None, day: date, categories: Iterable[str] | None = None
) -> list[str]:
    """English names of the holidays of these categories *celebrated* on ``day``.

    Days off observed in lieu of a holiday (a Monday after a Sunday holiday) are left
    out, and "(estimated)" is dropped from names of holidays whose date follows a
    lunar calendar, so a holiday has one name on each of its days.
    """
    if not country:
        return []
    country = country.upper()
    wanted = _categories(country, categories)
    if not wanted:
        return []
    calendar = _calendar(country, day.year, wanted, False)
    if calendar is None:
        return []
    return [_ESTIMATED.sub("", str(name)) for name in calendar.get_list(day)]


@lru_cache(maxsize=64)
def holiday_names(
    countries: tuple[str, ...] | None, categories: tuple[str, ...], years: tuple[int, ...]
) -> frozenset[str]:
    """Every English holiday name of these countries (all, for ``None``) and
    categories in these years; lets campaign validation catch a misspelt name."""
    return frozenset(holiday_countries(countries, categories, years))


@lru_cache(maxsize=64)
def holiday_countries(
    countries: tuple[str, ...] | None, categories: tuple[str, ...], years: tuple[int, ...]
) -> dict[str, frozenset[str]]:
    """Each English holiday name of these countries (all, for ``None``), categories and
    years, with the countries that have it (a name's tone depends on the country)."""
    codes = countries if countries is not None else tuple(holidays.list_supported_countries())
    found: dict[str, set[str]] = {}
    for country in codes:
        wanted = _categories(country, categories)
        for year in years:
            calendar = _calendar(country.upper(), year, wanted, False) if wanted else None
            if calendar is None:
                continue
            for names in calendar.values():
                for name in str(names).split("; "):
                    found.setdefault(_ESTIMATED.sub("", name), set()).add(country.upper())
    return {name: frozenset(codes) for name, codes in found.items()}


def english_names_of(
    text: str, countries: tuple[str, ...] | None, known: frozenset[str]
) -> list[str]:
    """The English names among ``known`` of the holidays of these countries (all, for
    ``None``) whose name in one of their calendar's languages holds ``text``, case
    ignored: which name a campaign's ``names: [نوروز]`` or ``[春节]`` means (``names``
    are English). At most three, none that another holds ('Nowruz' finds 'Nowruz
    Holiday' too, as ``names`` match)."""
    wanted = text.casefold()
    codes = countries if countries is not None else tuple(holidays.list_supported_countries())
    found: set[str] = set()
    for code in codes:
        country = code.upper()
        probe = _probe(country)
        english = {msgid: name for name, msgid in _source_names(country).items()}
        if probe is None or not english or not wanted:
            continue
        for language in getattr(probe, "supported_languages", ()) or ():
            catalog = getattr(_catalog(country, language), "_catalog", {})
            # The default language's catalog is empty: its names are the msgids.
            found.update(
                name
                for msgid, name in english.items()
                if wanted in str(catalog.get(msgid, msgid)).casefold()
            )
    found &= known
    return sorted(n for n in found if not any(o != n and o in n for o in found))[:3]


def _best_language(country: str, locale: str) -> str | None:
    """The calendar's language closest to ``locale``: the locale itself (fa_IR), else
    one of its language in its script, else any of its language (fa_*).

    The script comes from CLDR's likely subtags, so a Traditional Chinese reader
    (``zh_Hant``, ``zh_HK``, ``zh_Hant_HK``) in a calendar that has ``zh_CN`` and
    ``zh_TW`` names reads the ``zh_TW`` ones, and a Simplified one (``zh``, ``zh_SG``)
    the ``zh_CN`` ones, wherever they live."""
    calendar = _probe(country)
    if calendar is None:
        return None
    supported = getattr(calendar, "supported_languages", ()) or ()
    wanted = locale.replace("-", "_")
    language = wanted.split("_")[0].lower()
    for candidate in supported:
        if candidate.replace("-", "_").lower() == wanted.lower():
            return candidate
    same = [c for c in supported if c.replace("-", "_").split("_")[0].lower() == language]
    script = _script(wanted)
    return next((c for c in same if _script(c) == script), same[0] if same else None)


@lru_cache(maxsize=256)
def _script(locale: str) -> str:
    """The script ``locale`` is written in, by CLDR's likely subtags ('zh_HK' -> 'Hant',
    'zh' -> 'Hans'); '' for a tag Babel cannot read."""
    tag = locale.replace("-", "_")
    try:
        written = parse_locale(tag)[2]  # a script the tag names wins ('zh_Hant_CN')
        parsed = Locale.parse(tag)
    except (UnknownLocaleError, ValueError, TypeError):
        return ""
    if written or parsed.script:
        return str(written or parsed.script)
    likely = get_global("likely_subtags")
    for key in (f"{parsed.language}_{parsed.territory}", parsed.language):
        parts = str(likely.get(key, "")).split("_")
        if len(parts) == 3:
            return parts[1]
    return ""


@lru_cache(maxsize=256)
def _catalog(country: str, language: str) -> gettext.NullTranslations:
    return gettext.translation(
        country, localedir=str(_LOCALES), languages=[language], fallback=True
    )


@lru_cache(maxsize=64)
def _source_names(country: str) -> dict[str, str]:
    """English name -> the calendar's own source string (its gettext msgid)."""
    english = _catalog(country, "en_US")
    found = getattr(english, "_catalog", {})
    return {str(v): str(k) for k, v in found.items() if isinstance(k, str) and k}


def _translate(country: str, english: str, language: str) -> str | None:
    """One holiday's name in ``language``, through the calendar's own catalogs.

    A day can hold several holidays and the package sorts each language's names on
    its own, so names cannot be matched by position (on 2026-03-21 Nowruz and Eid
    al-Fitr swap places between English and Persian); the catalogs map them exactly.
    """
    probe = _probe(country)
    default = str(getattr(probe, "default_language", "") or "")
    msgid = _source_names(country).get(english) or (english if default.startswith("en") else None)
    if msgid is None:
        return None
    if language == default:
        return msgid
    translated = _catalog(country, language).gettext(msgid)
    return translated if translated != msgid or language.startswith(default[:2]) else None


@lru_cache(maxsize=4096)
def holiday_name(country: str, day: date, locale: str, english: str | None = None) -> str | None:
    """The holiday's name in the customer's language where the calendar has it.

    ``english`` (an occasion's name) picks that one holiday when the day has several;
    without it every name of the day is given, joined as the language joins them.
    Names are polished for the locale (its digits, spacing and punctuation: see
    :mod:`rapport.engine.triggers.names`). Falls back to
    English: a name in a language the customer may not read is still better than
    none, and templates can choose not to show it.
    """
    country = country.upper()
    language = _best_language(country, locale) or "en_US"
    categories = PUBLIC if english is None else tuple(sorted(supported_categories(country)))
    local = _calendar(country, day.year, categories or PUBLIC, True, language)
    if local is None:
        return None
    if english is not None:
        return polish(_translate(country, english, language) or english, locale)
    names = [str(n) for n in local.get_list(day)]
    return join_names(names, locale) if names else None


def greeted_names(
    country: str, day: date, locale: str, english: tuple[str | None, ...]
) -> str | None:
    """The names of the holidays one message greets, in the customer's language, joined
    as the language joins a list (CLDR's list patterns: ``جشن نوروز و عید سعید فطر``,
    ``中秋节和国庆节``, ``Nowruz and Eid al-Fitr``); None without a name. Names the
    calendar has only in English are joined as English joins them (an Arabic ``و``
    glued to ``Eid al-Fitr`` reads as neither language)."""
    pairs = {n: holiday_name(country, day, locale, english=n) or n for n in english if n}
    names = list(dict.fromkeys(pairs.values()))
    if len(names) < 2:
        return names[0] if names else None
    translated = all(local != n for n, local in pairs.items())
    try:
        joiner = Locale.parse(locale.replace("-", "_")) if translated else Locale("en")
        return format_list(names, locale=joiner)
    except (UnknownLocaleError, ValueError, TypeError):
        return join_names(names, locale)
