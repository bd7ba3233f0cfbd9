"""Cron expressions, read the way ``crontab(5)`` reads them, matched against dates.

A ``recurring`` campaign says when it recurs with a standard five-field expression,
``minute hour day-of-month month day-of-week``, e.g. ``0 10 1 * *`` (the 1st of every
month) or ``0 9 * * mon`` (every Monday). Only the day fields decide whether a
local date is an occasion; the minute and hour fields must be valid but are ignored,
because when the message goes out is the campaign's ``send_window``. An expression
therefore fires at most once a day, on the customer's local date, whatever a clock
change does to the hour it names.

Each field is ``*`` or a comma-separated list of items:

=========  =================================================================
``N``      one value; months ``jan``-``dec``, weekdays ``sun``-``sat`` (any case)
``N-M``    N to M; ``N-N`` is N alone (as in crontab)
``N-M/S``  every S-th value from N to M
``*/S``    every S-th value of the whole field, from its lowest
``N/S``    every S-th value from N to the end of the field
=========  =================================================================

Weekdays run 0 (Sunday) to 6 (Saturday), and 7 is Sunday too; a day is in the set
once however it is spelled, so nothing fires twice. The week of ``*/S`` and ``N/S``
ends on Saturday: ``1/2`` is Monday, Wednesday, Friday (not Sunday as well, which
would fire Sunday and Monday back to back), ``7/2`` is the same as ``0/2``. A range
written up to 7 includes Sunday as crontab does: ``1-7/2`` is Monday, Wednesday,
Friday and Sunday.

A range whose start is after its end wraps around the field (crontab refuses these;
croniter accepts them): ``sat-sun`` is Saturday and Sunday, ``fri-mon`` Friday to
Monday, ``22-2`` in the hour field 22:00 to 02:00, ``nov-feb`` November to February,
``28-3`` in the day-of-month field the 28th to the 31st and the 1st to the 3rd. A
step keeps counting across the wrap: ``thu-mon/2`` is Thursday, Saturday, Monday.
A weekday range starting at 7 starts on Sunday (``7-2`` is ``0-2``).

Day-of-month and day-of-week, as in Vixie cron: when either field starts with ``*``
(``*``, ``*/2``) a date must match both; when neither does, a date matches if
*either* does: ``0 9 13 * fri`` is every 13th and every Friday, ``0 9 */2 * fri``
the odd days that are Fridays. An expression that can never match (``0 0 30 2 *``)
is refused. ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``, ``@daily``
(``@midnight``) are accepted; ``@hourly`` and ``@reboot`` are not (a campaign fires
on dates). Not supported, and refused with a message saying so: ``L``, ``W``, ``#``,
``?``, ``H`` and the six- and seven-field forms (seconds, years). Where this differs
from croniter is listed in docs/campaigns.md and pinned by
tests/engine/triggers/test_cron_croniter.py.

Why not APScheduler's ``CronTrigger.from_crontab``: in APScheduler 3 weekday 0 is
Monday rather than Sunday (its own documentation calls this a historical mistake,
fixed only in 4.x), and it requires day-of-month *and* day-of-week to match where
cron accepts either, so a marketer's crontab line would silently mean another day.
"""

from __future__ import annotations

import re
from calendar import monthrange
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
    "@midnight": "0 0 * * *",
}
_REFUSED_MACROS = {
    "@hourly": "a recurring campaign fires on dates, at most once a day: write @daily",
    "@reboot": "a recurring campaign fires on dates: @reboot has none",
}


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    #: the highest value a number may have (7 for weekdays: Sunday again)
    high: int
    #: the highest value of the cycle ``*``, ``N/S`` and wrapping ranges count over
    last: int
    names: tuple[str, ...] = ()


_FIELDS = (
    _Field("minute", 0, 59, 59),
    _Field("hour", 0, 23, 23),
    _Field("day-of-month", 1, 31, 31),
    _Field("month", 1, 12, 12, _MONTHS),
    _Field("day-of-week", 0, 7, 6, _WEEKDAYS),
)
_WEEKDAY = _FIELDS[4]
#: What other crons accept and Rapport does not, with what to say instead.
_UNSUPPORTED = (
    (re.compile(r"#"), "N#K, the K-th weekday of a month"),
    (re.compile(r"^\?$"), "write '*'"),
    (re.compile(r"^h(\(|/|$)", re.IGNORECASE), "H, a hashed value"),
    (re.compile(r"^(l|\d*l|l\d*|l-\d+)$", re.IGNORECASE), "L, the last day or weekday of a month"),
    (re.compile(r"^(w\d+|\d+w|lw)$", re.IGNORECASE), "W, the weekday nearest a day"),
)
#: Fields are separated by spaces and tabs only, as in crontab: a no-break space
#: inside a field is a wrong character in that field, not a separator.
_SEPARATORS = re.compile(r"[ \t]+")


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


def _number(text: str, field: _Field) -> int:
    lowered = text.lower()
    if lowered in field.names:
        return field.low + field.names.index(lowered)
    if not text.isascii() or not text.isdigit():
        kind = "a number or name" if field.names else "a number"
        raise ValueError(f"{field.name}: {text!r} is not {kind}")
    value = int(text)
    if not field.low <= value <= field.high:
        raise ValueError(f"{field.name}: {value} is outside {field.low}-{field.high}")
    return value


def _cycle(first: int, last: int, step: int, field: _Field) -> list[int]:
    """``first`` to ``last`` every ``step``, wrapping past the field's end to its start."""
    length = field.last - field.low + 1
    span = (last - first) % length
    return [
        field.low + (first - field.low + offset) % length for offset in range(0, span + 1, step)
    ]


def _item(text: str, field: _Field) -> list[int]:
    for pattern, message in _UNSUPPORTED:
        if pattern.search(text):
            raise ValueError(f"{field.name}: {text!r} is not supported ({message})")
    span, slash, step_text = text.partition("/")
    step = 1
    if slash:
        if not step_text.isascii() or not step_text.isdigit() or int(step_text) == 0:
            raise ValueError(
                f"{field.name}: step {step_text!r} in {text!r} must be a whole number above 0"
            )
        step = int(step_text)
    if not span:
        raise ValueError(
            f"{field.name}: {text!r} has no value" if text else f"{field.name}: empty item"
        )
    if span == "*":
        return list(range(field.low, field.last + 1, step))
    if "-" in span:
        start_text, _, end_text = span.partition("-")
        if not start_text or not end_text:
            raise ValueError(f"{field.name}: range {span!r} needs a start and an end")
        first, last = _number(start_text, field), _number(end_text, field)
        if first <= last:
            return list(range(first, last + 1, step))
        if field is _WEEKDAY and first == 7:  # 7-2 is Sunday to Tuesday
            return list(range(0, last + 1, step))
        return _cycle(first, last, step, field)
    first = _number(span, field)
    if not slash:
        return [first]
    if field is _WEEKDAY and first == 7:  # 7/2 counts from Sunday, as 0/2 does
        first = 0
    return list(range(first, field.last + 1, step))


def _field(text: str, field: _Field) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        values.update(_item(item, field))
    return frozenset(values)


def _never_matches(days: frozenset[int], months: frozenset[int]) -> bool:
    """Both day fields must match and no listed month has a listed day (``30 2``)."""
    return not any(day <= monthrange(2028, month)[1] for month in months for day in days)


@lru_cache(maxsize=256)
def parse_cron(expression: str) -> CronSchedule:
    """Parse a cron expression; ``ValueError`` names the field that is wrong."""
    stripped = expression.strip(" \t\r\n").lower()
    if stripped in _REFUSED_MACROS:
        raise ValueError(f"{stripped} is not supported: {_REFUSED_MACROS[stripped]}")
    if stripped.startswith("@") and stripped not in _MACROS:
        raise ValueError(f"unknown macro {stripped!r}: use one of {', '.join(_MACROS)}")
    text = _MACROS.get(stripped, expression.strip(" \t\r\n"))
    parts = _SEPARATORS.split(text) if text else []
    if len(parts) != len(_FIELDS):
        extra = " (seconds and years are not supported)" if len(parts) in (6, 7) else ""
        raise ValueError(
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)}{extra}"
        )
    _minutes, _hours, days, months, weekdays = (
        _field(part, field) for part, field in zip(parts, _FIELDS, strict=True)
    )
    either_day = not parts[2].startswith("*") and not parts[4].startswith("*")
    if not either_day and _never_matches(days, months):
        raise ValueError(
            f"no date matches: day-of-month {parts[2]!r} never falls in month {parts[3]!r}"
        )
    return CronSchedule(
        expression=expression,
        days_of_month=days,
        months=months,
        weekdays=frozenset(day % 7 for day in weekdays),
        either_day=either_day,
    )
