"""Days of mourning: no offer and no congratulation, from any campaign.

On a day of mourning in the customer's country (Tasua, Ashura, the martyrdom of an
Imam: a public holiday whose tone is ``mourning``, see
:mod:`rapport.engine.triggers.tones`), "تولدتان مبارک! ۱۰٪ تخفیف" offends as much as a
holiday offer would. So a campaign that congratulates (birthday, anniversary, tier
reached) or gives an offer has no occasion on such a day, and the occasion it would
have had waits: on the first day after the run of mourning days (the day after
Ashura), :func:`rapport.engine.triggers.find_occasion` gives the occasion held back,
with its own key, so it is sent once, a day or two late. A holiday campaign sent on the
holiday follows its ``tones`` instead; one sent ``days_before`` it waits like the rest
when its greeting is a celebration's or carries an offer. A message without an offer or
a congratulation (a reorder reminder, a feedback request) goes out as usual.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.triggers.calendars import celebrated_on
from rapport.engine.triggers.tones import is_substitute, tone_of

#: The longest run of mourning days looked back over (Tasua and Ashura are two, the
#: closures of March 2026 seven); occasions held back longer ago are not sent.
LONGEST_RUN = 14


@lru_cache(maxsize=8192)
def mourned_on(country: str | None, day: date) -> str | None:
    """The English name of the first public holiday of ``country`` on ``day`` that is a
    day of mourning, or None."""
    if not country:
        return None
    code = country.upper()
    return next(
        (
            name
            for name in celebrated_on(code, day)
            if not is_substitute(name) and tone_of(code, name) == "mourning"
        ),
        None,
    )


def mourning_country(customer: CustomerProfile) -> str | None:
    """The country whose days of mourning the customer keeps: their ``country``; when
    none is on record, the territory of their locale (``fa_IR``: IR), else their time
    zone's (``Asia/Tehran``: IR, CLDR's). Holding a greeting back a day for someone who
    does not mourn costs little; congratulating someone who does, on Ashura, offends."""
    if customer.country:
        return customer.country
    return _locale_territory(customer.locale) or _zone_territory(customer.timezone)


@lru_cache(maxsize=256)
def _locale_territory(locale: str | None) -> str | None:
    from babel import Locale, UnknownLocaleError

    try:
        territory = Locale.parse(locale or "", sep="-" if "-" in (locale or "") else "_").territory
    except (UnknownLocaleError, ValueError, TypeError):
        return None
    return territory if territory and territory.isalpha() else None


@lru_cache(maxsize=1024)
def _zone_territory(timezone: str | None) -> str | None:
    from babel.core import get_global

    # CLDR maps canonical names only: 'Iran' and 'Asia/Chongqing' through their aliases.
    name = get_global("zone_aliases").get(timezone or "", timezone or "")
    territory = get_global("zone_territories").get(name)
    return territory if territory and territory.isalpha() and territory != "ZZ" else None


def mourning_before(country: str | None, day: date) -> list[date]:
    """The run of days of mourning in ``country`` that ends the day before ``day``,
    earliest first (empty when the day before is no day of mourning)."""
    run: list[date] = []
    earlier = day - timedelta(days=1)
    while len(run) < LONGEST_RUN and mourned_on(country, earlier):
        run.append(earlier)
        earlier -= timedelta(days=1)
    return run[::-1]


@lru_cache(maxsize=64)
def mourning_anywhere_before(day: date) -> tuple[date, ...]:
    """The days just before ``day`` on which some country mourns, earliest first: every
    day a country's run of mourning before ``day`` can hold (for the pre-filter, which
    must keep the customers whose occasion waited)."""
    run: list[date] = []
    earlier = day - timedelta(days=1)
    while len(run) < LONGEST_RUN and any(mourned_on(c, earlier) for c in _countries()):
        run.append(earlier)
        earlier -= timedelta(days=1)
    return tuple(run[::-1])


@lru_cache(maxsize=1)
def _countries() -> tuple[str, ...]:
    return tuple(sorted(code for code in holidays.list_supported_countries() if len(code) == 2))
