"""Cron expressions, read the way ``crontab(5)`` reads them, matched against dates.

A ``recurring`` campaign says when it recurs with a standard five-field expression,
``minute hour day-of-month month day-of-week``, e.g. ``0 10 1 * *`` (the 1st of every
month) or ``0 9 * * mon`` (every Monday). Only the day fields decide whether a
local date is an occasion; the minute and hour fields must be valid but are ignored,
because when the message goes out is the campaign's ``send_window``.

Each field is ``*`` or a comma-separated list of ``N``, ``N-M``, ``*/S``, ``N-M/S``
or ``N/S`` (from N to the field's end, every S). Months may be written ``jan``-``dec``
and weekdays ``sun``-``sat`` (case ignored); weekday 0 and 7 are both Sunday. As in
cron, when both day-of-month and day-of-week are restricted (neither starts with
``*``), a date matches if *either* does: ``0 9 13 * fri`` is every 13th and every
Friday. ``@yearly`` (``@annually``), ``@monthly``, ``@weekly`` and ``@daily`` are
accepted too.

Why not APScheduler's ``CronTrigger.from_crontab``: in APScheduler 3 weekday 0 is
Monday rather than Sunday (its own documentation calls this a historical mistake,
fixed only in 4.x), and it requires day-of-month *and* day-of-week to match where
cron accepts either, so a marketer's crontab line would silently mean another day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
}
#: (name, lowest, highest, names for lowest..)
_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _WEEKDAYS),
)


@dataclass(frozen=True)
class CronSchedule:
    """The days a cron expression fires on; build it with :func:`parse_cron`."""

    expression: str
    days_of_month: frozenset[int]
    months: frozenset[int]
    #: 0 = Sunday .. 6 = Saturday
    weekdays: frozenset[int]
    #: Day-of-month and day-of-week both restricted: either one matching is enough.
    either_day: bool

    def matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_month_day = day.day in self.days_of_month
        by_weekday = (day.weekday() + 1) % 7 in self.weekdays
        if self.either_day:
            return by_month_day or by_weekday
        return by_month_day and by_weekday


def _number(text: str, field: tuple[str, int, int, tuple[str, ...]]) -> int:
    name, low, high, names = field
    lowered = text.lower()
    if lowered in names:
        return low + names.index(lowered)
    if not text.isdigit():
        raise ValueError(f"{name}: {text!r} is not a number" + (" or name" if names else ""))
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{name}: {value} is outside {low}-{high}")
    return value


def _field(text: str, field: tuple[str, int, int, tuple[str, ...]]) -> frozenset[int]:
    name, low, high, _ = field
    values: set[int] = set()
    for item in text.split(","):
        span, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{name}: step {step_text!r} must be a whole number above 0")
            step = int(step_text)
        if span == "*":
            first, last = low, high
        elif "-" in span:
            start, _, end = span.partition("-")
            first, last = _number(start, field), _number(end, field)
            if first > last:
                raise ValueError(f"{name}: range {span!r} runs backwards")
        else:
            first = _number(span, field)
            last = high if step_text else first
        values.update(range(first, last + 1, step))
    return frozenset(values)


@lru_cache(maxsize=256)
def parse_cron(expression: str) -> CronSchedule:
    """Parse a cron expression; ``ValueError`` names the field that is wrong."""
    text = _MACROS.get(expression.strip().lower(), expression)
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)}"
        )
    _minutes, _hours, days, months, weekdays = (
        _field(part, field) for part, field in zip(parts, _FIELDS, strict=True)
    )
    return CronSchedule(
        expression=expression,
        days_of_month=days,
        months=months,
        weekdays=frozenset(day % 7 for day in weekdays),
        either_day=not parts[2].startswith("*") and not parts[4].startswith("*"),
    )
