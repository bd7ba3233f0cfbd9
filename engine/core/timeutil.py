"""Time: one aware-UTC convention everywhere, and the injectable clock.

Databases differ in how they keep time zones (SQLite keeps none), so every stored
datetime is normalised to UTC on the way in and comes back aware on the way out.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.types import DateTime, TypeDecorator

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
#: The years a day named on the command line or a page may fall in (plan, explain,
#: preview, send-test, report, the admin pages): wide enough for any real use, and
#: every day in it can be moved by a year or converted to any zone without overflow.
DAY_YEARS = (2000, 2100)


def utcnow() -> datetime:
    """The real clock; everything else takes a ``Clock`` so tests can pin time."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive value is taken to already be UTC."""
    if value.tzinfo is None:
        return utc_of_naive(value)
    return value.astimezone(UTC)


def utc_of_naive(value: datetime) -> datetime:
    """A naive UTC datetime (as stored) made aware: ``value.replace(tzinfo=UTC)``, the
    same datetime, made by ``combine`` in about a fifth of the time (``replace``
    parses its keyword arguments; planning makes one a customer and one an order)."""
    return datetime.combine(value, value.time(), UTC)


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``, memoised: planning asks for it per customer and message.

    A stored name this machine's tz database lacks (kept from before imports checked
    zones, or removed by a tz database update) is read as UTC, so that the customer's
    days are counted a little off rather than stopping every plan, explain and report
    showing them; planning sends such a customer nothing (see :func:`known_zone`).
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@lru_cache(maxsize=1024)
def known_zone(name: str) -> bool:
    """Whether ``name`` is a zone this machine's tz database has (:func:`zone` reads
    any other as UTC)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


#: Files of a zoneinfo folder that available_timezones() lists but that name no place:
#: Debian's ``localtime`` (a link to /etc/localtime, the server's own zone, absent where
#: only the tzdata package is), ``posixrules`` and tzdata's ``Factory`` ("-00", local time
#: unknown). A customer's zone or a campaign's condition never names one of them.
NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=1)
def zone_names() -> frozenset[str]:
    """Every IANA time zone name this machine knows (available_timezones() walks the
    tz database on disk: far too slow per row), :data:`NOT_PLACES` left out."""
    return frozenset(zoneinfo.available_timezones()) - NOT_PLACES


def local_date(
    moment: datetime, timezone: str, customer_id: str | None = None, what: str = "a date-time"
) -> date:
    """The date ``moment`` falls on in ``timezone`` (a naive moment is taken as UTC).

    Stages, occasions and caps count the customer's days, not the server's. A moment
    whose local day lies outside Python's years 1-9999 (year 1 behind UTC, stored before
    imports bounded dates) is on its UTC date instead, a day off at most, rather than an
    OverflowError that would stop planning and every page showing the customer; given
    the customer's id, :func:`out_of_range` says so.
    """
    utc = as_utc(moment)
    try:
        return utc.astimezone(zone(timezone)).date()
    except OverflowError:
        if customer_id is not None:
            out_of_range(customer_id, what)
        return utc.date()


#: Customers each warning has been given for in this process (bounded), by warning.
_WARNED: dict[str, set[str]] = {}
MAX_WARNED = 1000


def _warn_once(kind: str, customer_id: str, message: str, field: str) -> None:
    """Log ``message`` once a process per customer and kind: the customer's id only."""
    seen = _WARNED.setdefault(kind, set())
    if customer_id in seen or len(seen) >= MAX_WARNED:
        return
    seen.add(customer_id)
    log.warning(message, extra={"customer_id": customer_id, "field": field})


def unknown_zone(customer_id: str) -> None:
    """Warn that a customer's stored time zone is not one this machine knows, so
    planning sends them nothing."""
    _warn_once(
        "zone",
        customer_id,
        "a customer's stored time zone is not in this machine's time zone database: "
        "nothing is sent to them; import the customer again with an IANA name",
        "timezone",
    )


def out_of_range(customer_id: str, what: str) -> None:
    """Warn that a stored instant of a customer's lies outside the dates a time zone can
    show (before 1900, as imports now refuse): it is taken on its UTC day. Never the
    value."""
    _warn_once(
        "range",
        customer_id,
        "a stored date-time out of range (before 1900-01-01) is taken on its UTC day; "
        "import the row again with a real date",
        what,
    )


def local_moment(day: date, at: time, timezone: str) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``timezone``.

    A wall time inside a spring-forward gap does not exist; it is moved forward by the
    gap (02:30 becomes 03:30), never backward, so a window never opens early.
    """
    # PEP 495: with fold=0 a gap time takes the offset from before the transition,
    # which lands after the jump in UTC, and an ambiguous time its first occurrence.
    return datetime.combine(day, at, tzinfo=zone(timezone)).astimezone(UTC)


def local_end(day: date, at: time, timezone: str) -> datetime:
    """The UTC instant a period ending at wall-clock ``at`` on ``day`` ends.

    As :func:`local_moment`, except for a wall time inside a spring-forward gap: the
    period ends when the gap does (the clocks' jump), never after it. A window "until
    02:30" on the day New York jumps from 02:00 to 03:00 ends at 03:00 EDT, since every
    later moment reads 03:00 or more; moved forward by the gap it would run to 03:30.
    """
    local = datetime.combine(day, at, tzinfo=zone(timezone))
    after = local.astimezone(UTC)  # fold=0: after the jump, as local_moment
    before = local.replace(fold=1).astimezone(UTC)  # the offset after it: before the jump
    if before >= after:  # the time exists (or happens twice: its first occurrence)
        return after
    # The jump lies between: find it to the second (a gap is at most a day, 17 halvings).
    low, high = int(before.timestamp()), int(after.timestamp())
    offset = after.astimezone(zone(timezone)).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone(timezone)).utcoffset() == offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def isoformat_z(value: datetime) -> str:
    """UTC ISO 8601 with a ``Z``, the form the CLI's JSON promises."""
    return as_utc(value).isoformat().replace("+00:00", "Z")


class UTCDateTime(TypeDecorator[datetime]):
    """A DateTime column that stores naive UTC and always returns aware UTC."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return utc_of_naive(value)
