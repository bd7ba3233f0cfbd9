"""Rapport's cron dates agree with croniter's fire times, except where listed.

A ``recurring`` trigger fires on local *dates* (the hour and minute fields are checked
but the send window sets the time), so each expression is compared as the sequence of
distinct local dates croniter fires on, from several starts: plain dates (one across
29 February) and, with the expression's own hour and minute, across the clock changes
of America/New_York (02:00) and Asia/Tehran (midnight, in 2021; 2022 was its last year of
daylight saving time), where an hour can be missing or repeated but never a date.

croniter runs with ``implement_cron_bug=True``: Vixie cron's day rule (a day field
starting with ``*`` makes both day fields required), which Rapport follows; croniter's
default ORs them as soon as both are restricted (the last entry of ``DIFFERENCES``).

The expressions: the hand-picked ``AGREED`` edge cases, plus seeded random ones built
from every item form (numbers, names in any case, lists, ranges, wrap-around ranges,
steps): 320 of them, in 8 chunks. They avoid exactly the forms ``DIFFERENCES`` lists
(an equal-bounds range, a stepped wrap-around in a day field, a ``*`` item after the
first in a day field). ``DIFFERENCES``, ``REFUSED`` (croniter accepts, Rapport refuses
with a message) and the ``recurring`` section of docs/campaigns.md list the same
expressions, which the last tests check.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from croniter import CroniterBadDateError, croniter
from factories import REPO

from rapport.engine.triggers.cron import parse_cron

NEW_YORK = ZoneInfo("America/New_York")
TEHRAN = ZoneInfo("Asia/Tehran")
#: (first local date compared, time zone): New York springs forward on 2027-03-14 and
#: falls back on 2027-11-07; Tehran sprang forward at midnight into 2021-03-22 and
#: fell back at midnight after 2021-09-21.
STARTS: list[tuple[date, tzinfo | None]] = [
    (date(2027, 1, 1), None),
    (date(2028, 2, 20), None),
    (date(2027, 3, 12), NEW_YORK),
    (date(2027, 11, 5), NEW_YORK),
    (date(2021, 3, 20), TEHRAN),
    (date(2021, 9, 19), TEHRAN),
]
FIRES = 10
HORIZON = timedelta(days=4 * 366)


def _end_of(day: date, zone: tzinfo | None) -> datetime:
    """The last instant of a local date (the later one when its last hour repeats)."""
    return datetime.combine(day, time(23, 59, 59, 999999), tzinfo=zone).replace(fold=1)


def croniter_days(
    expression: str, first: date, zone: tzinfo | None = None, *, cron_bug: bool = True
) -> list[date]:
    """The distinct local dates croniter fires on from ``first``, up to FIRES or HORIZON."""
    it = croniter(expression, _end_of(first - timedelta(days=1), zone), implement_cron_bug=cron_bug)
    days: list[date] = []
    while len(days) < FIRES:
        try:
            fire = it.get_next(datetime)
        except CroniterBadDateError:  # none in the next 50 years
            break
        day = fire.date()
        if day > first + HORIZON:
            break
        days.append(day)
        it.set_current(_end_of(day, zone), force=True)
    return days


def rapport_days(expression: str, first: date, until: date) -> list[date]:
    """The dates from ``first`` to ``until`` that Rapport's schedule matches."""
    schedule = parse_cron(expression)
    return [
        first + timedelta(days=n)
        for n in range((until - first).days + 1)
        if schedule.matches(first + timedelta(days=n))
    ]


def assert_agree(expression: str) -> None:
    for first, zone in STARTS:
        expected = croniter_days(expression, first, zone)
        until = expected[-1] if len(expected) == FIRES else first + HORIZON
        assert rapport_days(expression, first, until) == expected, (expression, first, zone)


# -- hand-picked edge cases ------------------------------------------------------------

AGREED = [
    # weekday steps stay in the Sunday-Saturday week; 7 is Sunday, never twice
    "0 9 * * 1/2",
    "0 9 * * mon/2",
    "0 9 * * 0/3",
    "0 9 * * 3/3",
    "0 9 * * 7/2",
    "0 9 * * sat/2",
    "0 9 * * */2",
    "0 9 * * */3",
    "0 9 * * */7",
    "0 9 * * 0-7/2",
    "0 9 * * 1-7/2",
    "0 9 * * 1-7/3",
    "0 9 * * 0-7",
    "0 9 * * 7",
    "0 9 * * 0,7",
    "0 9 * * sun,7,0",
    "0 9 * * 5-7",
    # wrap-around weekday ranges
    "0 9 * * sat-sun",
    "0 9 * * SAT-SUN",
    "0 9 * * fri-mon",
    "0 9 * * 5-1",
    "0 9 * * 6-0",
    "0 9 * * 6-7",
    "0 9 * * 7-1",
    "0 9 * * 7-3/2",
    "0 9 * * 5-1/2",
    "0 9 * * fri-tue/2",
    "0 9 * * 3-1/2",
    "0 9 * * 1-7/3",
    # names, case, lists
    "0 9 * * mon-fri",
    "0 9 * * Mon-Fri",
    "0 9 * * mon,wed,fri",
    "0 9 1 JAN,Jul *",
    "0 9 1 Feb SUN",
    # day of month
    "0 9 1 * *",
    "0 9 1,15 * *",
    "0 9 */2 * *",
    "0 9 */15 * *",
    "0 9 2/5 * *",
    "0 9 31 * *",
    "0 9 29 2 *",
    "0 9 30 1-12 *",
    "0 9 28-3 * *",
    "0 9 28-3/2 * *",
    "0 9 26-5/3 * *",
    # months
    "0 9 1 jan *",
    "0 9 1 */3 *",
    "0 9 1 2/3 *",
    "0 9 1 dec/3 *",
    "0 9 1 nov-feb *",
    "0 9 1 nov-feb/2 *",
    "0 9 1 apr-jan/3 *",
    # day-of-month OR day-of-week when both are restricted, AND when one starts with *
    "0 9 13 * fri",
    "0 9 1-7 * mon",
    "0 9 1,15 * mon",
    "0 9 1-31 * mon",
    "0 9 1 * 0-7",
    "0 9 1 * 0-6",
    "0 9 31 2 mon",
    "0 9 */2 * fri",
    "0 9 */1 * mon",
    "0 9 1 * */1",
    "0 9 13 * */7",
    "0 9 * 2 mon",
    "0 9 29 2 */1",
    # hour and minute fields: any valid value, wrap-around included; the date decides
    "*/15 22-2 * * *",
    "50-10/15 * * * sat-sun",
    "0 0-23/5 * * *",
    "59 23 31 12 *",
    "* * * * *",
    "30 2 * * *",
    "30 1 * * sun",
    "30 0 * * *",
    "0 0 * * *",
    "30 23 * * *",
    "*/20 1-3 14 3 *",
    "5-5 9 * * *",
    # spelling
    "00 09 01 01 *",
    "0\t9  1 * *",
    " 0 9 1 * * ",
    # macros
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@DAILY",
]


@pytest.mark.parametrize("expression", AGREED)
def test_hand_picked_expressions_fire_on_croniters_dates(expression: str) -> None:
    assert_agree(expression)


# -- seeded random expressions ---------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    low: int
    high: int
    names: tuple[str, ...] = ()
    day: bool = False


SPECS = (
    Spec(0, 59),
    Spec(0, 23),
    Spec(1, 31, day=True),
    Spec(
        1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    ),
    Spec(0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat"), day=True),
)


def _value(rng: random.Random, spec: Spec, number: int) -> str:
    if spec.names and number - spec.low < len(spec.names) and rng.random() < 0.4:
        name = spec.names[number - spec.low]
        return rng.choice([name, name.upper(), name.capitalize()])
    return str(number)


def _item(rng: random.Random, spec: Spec, *, first: bool) -> str:
    step = rng.choice([2, 2, 3, 4, 5, 7, 10]) if spec.high > 7 else rng.choice([2, 3, 4])
    kind = rng.choice(["n", "n", "range", "range", "range/s", "n/s", "wrap"] + ["*/s"] * first)
    a, b = sorted(rng.sample(range(spec.low, spec.high + 1), 2))
    if spec.names == SPECS[4].names and a % 7 == b % 7:
        b = a + 1  # 0-7 reversed, 7-sun, is Sunday alone: an equal-bounds range
    if kind == "n":
        return _value(rng, spec, a)
    if kind == "n/s":
        return f"{_value(rng, spec, a)}/{step}"
    if kind == "*/s":
        return f"*/{step}"
    if kind == "wrap":  # no step in a day field: the stepped wrap is a listed difference
        tail = f"/{step}" if not spec.day and spec.names == () and rng.random() < 0.5 else ""
        return f"{_value(rng, spec, b)}-{_value(rng, spec, a)}{tail}"
    tail = f"/{step}" if kind == "range/s" else ""
    return f"{_value(rng, spec, a)}-{_value(rng, spec, b)}{tail}"


def _field(rng: random.Random, spec: Spec) -> str:
    if rng.random() < (0.5 if spec.day else 0.3):
        return "*"
    count = rng.choice([1, 1, 1, 2, 3])
    items = [_item(rng, spec, first=i == 0 and count == 1) for i in range(count)]
    return ",".join(items)


def random_expressions(count: int, seed: int = 16) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(_field(rng, spec) for spec in SPECS) for _ in range(count)]


def _agree_or_both_find_nothing(expression: str) -> None:
    try:
        parse_cron(expression)
    except ValueError as refused:
        assert "no date matches" in str(refused), (expression, refused)
        assert croniter_days(expression, date(2027, 1, 1)) == [], expression
        return
    assert_agree(expression)


@pytest.mark.parametrize("chunk", range(8))
def test_random_expressions_fire_on_croniters_dates(chunk: int) -> None:
    for expression in random_expressions(320)[chunk::8]:
        _agree_or_both_find_nothing(expression)


# -- where Rapport deliberately differs ------------------------------------------------


@dataclass(frozen=True)
class Difference:
    expression: str
    reason: str
    #: the first dates from Monday 2027-03-01
    rapport: list[str]
    croniter: list[str]
    cron_bug: bool = True


DIFFERENCES = [
    Difference(
        "0 9 * * mon-mon",
        "an equal-bounds range is that one value, as in crontab; croniter reads it as "
        "the whole cycle",
        ["2027-03-01", "2027-03-08", "2027-03-15", "2027-03-22"],
        ["2027-03-01", "2027-03-02", "2027-03-03", "2027-03-04"],
    ),
    Difference(
        "0 9 15-15 * *",
        "an equal-bounds range is that one value (day-of-month)",
        ["2027-03-15", "2027-04-15", "2027-05-15", "2027-06-15"],
        ["2027-03-01", "2027-03-02", "2027-03-03", "2027-03-04"],
    ),
    Difference(
        "0 9 1 jun-jun *",
        "an equal-bounds range is that one value (month)",
        ["2027-06-01", "2028-06-01", "2029-06-01", "2030-06-01"],
        ["2027-03-01", "2027-04-01", "2027-05-01", "2027-06-01"],
    ),
    Difference(
        "0 9 * * 7-sun",
        "7 is Sunday, so 7-sun is an equal-bounds range: Sunday alone",
        ["2027-03-07", "2027-03-14", "2027-03-21", "2027-03-28"],
        ["2027-03-01", "2027-03-02", "2027-03-03", "2027-03-04"],
    ),
    Difference(
        "0 9 * * thu-mon/2",
        "a stepped wrap-around range keeps counting across the wrap (Thu, Sat, Mon); "
        "croniter restarts one value late and drops Monday",
        ["2027-03-01", "2027-03-04", "2027-03-06", "2027-03-08"],
        ["2027-03-04", "2027-03-06", "2027-03-11", "2027-03-13"],
    ),
    Difference(
        "0 9 27-3/3 * *",
        "a stepped wrap-around range keeps counting across the wrap (27, 30, 2); "
        "croniter restarts at 3",
        ["2027-03-02", "2027-03-27", "2027-03-30", "2027-04-02"],
        ["2027-03-03", "2027-03-27", "2027-03-30", "2027-04-03"],
    ),
    Difference(
        "0 9 1 oct-mar/2 *",
        "a stepped wrap-around range keeps counting across the wrap (Oct, Dec, Feb); "
        "croniter restarts at March",
        ["2027-10-01", "2027-12-01", "2028-02-01", "2028-10-01"],
        ["2027-03-01", "2027-10-01", "2027-12-01", "2028-03-01"],
    ),
    Difference(
        "0 9 5,*/1 * 2,*/3",
        "neither day field starts with '*', so either matching is enough (crontab looks "
        "at the first character); croniter treats a field covering every value as '*' "
        "when the other field contains a '*' and requires both",
        ["2027-03-01", "2027-03-02", "2027-03-03", "2027-03-04"],
        ["2027-03-02", "2027-03-03", "2027-03-06", "2027-03-07"],
    ),
    Difference(
        "0 9 */2 * fri",
        "a day field starting with '*' makes both required, as in Vixie cron (croniter "
        "agrees with implement_cron_bug=True); croniter's default accepts either",
        ["2027-03-05", "2027-03-19", "2027-04-09", "2027-04-23"],
        ["2027-03-01", "2027-03-03", "2027-03-05", "2027-03-07"],
        cron_bug=False,
    ),
]


@pytest.mark.parametrize("difference", DIFFERENCES, ids=lambda d: d.expression)
def test_listed_differences_from_croniter(difference: Difference) -> None:
    first = date(2027, 3, 1)
    theirs = croniter_days(difference.expression, first, cron_bug=difference.cron_bug)[:4]
    ours = rapport_days(difference.expression, first, first + HORIZON)[:4]
    assert [str(day) for day in ours] == difference.rapport
    assert [str(day) for day in theirs] == difference.croniter


# -- refused ---------------------------------------------------------------------------

#: croniter accepts these; Rapport refuses them when the campaign is loaded.
REFUSED = [
    ("0 9 L * *", "day-of-month: 'L' is not supported"),
    ("0 9 * * L5", "day-of-week: 'L5' is not supported"),
    ("0 9 * * 5#2", "day-of-week: '5#2' is not supported (N#K"),
    ("0 9 15W * *", "day-of-month: '15W' is not supported (W"),
    ("0 9 ? * mon", "day-of-month: '?' is not supported (write '*')"),
    ("H 9 * * *", "minute: 'H' is not supported"),
    ("@hourly", "@hourly is not supported"),
    ("0 9 1 1 * 30", "got 6 (seconds and years are not supported)"),
    ("0 9 1 1 * 0 2030", "got 7 (seconds and years are not supported)"),
    ("0 9 30 2 *", "no date matches: day-of-month '30' never falls in month '2'"),
    ("0 9 31 4,6,9,11 */2", "no date matches"),
]


@pytest.mark.parametrize(("expression", "message"), REFUSED)
def test_what_croniter_accepts_and_rapport_refuses(expression: str, message: str) -> None:
    assert croniter.is_valid(expression, hash_id=b"campaign")
    with pytest.raises(ValueError) as refused:
        parse_cron(expression)
    assert message in str(refused.value)


BOTH_REFUSE = [
    "0 9 * * 8",
    "0 9 0 * *",
    "0 9 * 13 *",
    "0 9 32 * *",
    "60 9 * * *",
    "0 24 * * *",
    "0 9 * * monday",
    "0 9 1 foo *",
    "0 9 1,,2 * *",
    "0 9 1 * *,",
    "0 9 */0 * *",
    "0 9 * * */mon",
    "0 9 * * mon-",
    "0 9 * * 1-2-3",
    "0 9 1/ * *",
    "0 9 /2 * *",
    "0 9 * * *-2",
    "0 9 * * 1.5",
    "0 9 1 * -1",
    "0 9 \u0661 * *",
    "0\u00a09 1 * *",
    "0 9 * *",
    "",
    "@reboot",
]


@pytest.mark.parametrize("expression", BOTH_REFUSE)
def test_what_both_refuse(expression: str) -> None:
    assert not croniter.is_valid(expression)
    with pytest.raises(ValueError):
        parse_cron(expression)


# -- the documentation -----------------------------------------------------------------


def recurring_section() -> str:
    text = (REPO / "docs" / "campaigns.md").read_text(encoding="utf-8")
    section = text.split("### `recurring`", 1)[1]
    return section.split("\n## ", 1)[0].split("\n### ", 1)[0]


def test_the_docs_list_every_difference_and_refusal() -> None:
    section = recurring_section()
    listed = [d.expression for d in DIFFERENCES] + [expression for expression, _ in REFUSED]
    assert [expression for expression in listed if f"`{expression}`" not in section] == []


def test_the_docs_examples_mean_what_their_table_says() -> None:
    section = recurring_section()
    examples = dict(re.findall(r'^\| `"([^"]+)"` \| ([^|]+) \|$', section, re.MULTILINE))
    assert len(examples) >= 7
    first = date(2027, 3, 1)  # a Monday
    fires = {
        expression: [
            d.strftime("%a %d") for d in rapport_days(expression, first, first + timedelta(days=13))
        ]
        for expression in examples
    }
    assert fires["0 9 * * sat-sun"] == ["Sat 06", "Sun 07", "Sat 13", "Sun 14"]
    assert fires["0 9 * * 1/2"] == ["Mon 01", "Wed 03", "Fri 05", "Mon 08", "Wed 10", "Fri 12"]
    assert fires["0 9 13 * fri"] == ["Fri 05", "Fri 12", "Sat 13"]
