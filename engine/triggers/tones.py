"""The tone of a holiday: ``celebration``, ``observance`` or ``mourning``.

A congratulation or an offer on a day of mourning (Ashura, the martyrdom of an Imam)
offends the very customers a holiday campaign is for, and "清明节快乐" on
tomb-sweeping day reads as careless. The tone of each holiday comes from a shipped,
reviewable file per country, ``engine/triggers/tones/<CC>.yaml``, keyed by the English
name the ``holidays`` package gives (every category the country has, the categories
listed beside each name for review); a test fails when the package gains a name the
file lacks. A country without a file, or a name missing from one, falls back to
:func:`guess_tone`, which reads the English name ("Martyrdom", "Memorial", ...).

- celebration: people wish each other well; a greeting and an offer fit.
- observance: remembrance or solemnity; a respectful note at most, no offer, no
  "Happy ...".
- mourning: grief; no offer and no congratulation, ever (``campaigns validate`` refuses
  an offer for it, and the planner never sends one).

Substituted rest days ("Day off (substituted from 10/10/2026)") are days off moved
around a holiday, and days named after the holiday before them ("The Day following
Mid-Autumn Festival", Hong Kong's day off for it) are days off added after one; neither
is a holiday: :func:`is_substitute` tells them apart, and they are
never occasions of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

import yaml

Tone = Literal["celebration", "observance", "mourning"]
TONES: tuple[Tone, ...] = get_args(Tone)

#: The folder of the per-country files.
TONES_DIR = Path(__file__).parent / "tones"

_SUBSTITUTE = re.compile(r"\((?:substituted from|observed)\b[^)]*\)\s*$", re.IGNORECASE)
#: A day off named after the holiday before it ("The Day following Mid-Autumn
#: Festival", "The first weekday after Christmas Day", "Day after Eid al-Adha"):
#: greeted by its name it reads "中秋節翌日快樂", so it is a day off, not a holiday.
_DAY_AFTER = re.compile(
    r"^(?:the\s+)?(?:(?:second|third)\s+)?(?:day|first\s+weekday)\s+(?:after|following)\b",
    re.IGNORECASE,
)
#: Tisha B'Av is the fast for the destroyed Temples; a "tragedy" is mourned (Beirut's
#: port explosion, 4 August).
_MOURNING = re.compile(
    r"\b(martyrdom|death|mourning|funeral|ashura|tasua|arbaeen|tisha\s+b.av|tragedy)\b", re.I
)
_OBSERVANCE = re.compile(
    r"\b(remembrance|memorial|commemoration|memory|victims|armistice|veterans|"
    r"good friday|all souls|all saints|day of the dead|tomb|holocaust|genocides?|fallen|"
    r"sorrows|arafah|"
    r"martyrs?|martyr's|maundy|holy thursday|holy saturday|(?<!before )ash wednesday|"
    r"yom kippur|fasting)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class HolidayTone:
    """One entry of a country's tone file."""

    tone: Tone
    categories: tuple[str, ...]
    #: The eve of the holiday that follows it (除夕 before 春节): in a run of adjacent
    #: holiday days the greeting goes to the holiday itself.
    eve: bool = False
    note: str = ""


def is_substitute(name: str) -> bool:
    """Whether an English holiday name is a day off moved for another holiday
    ("Day off (substituted from 02/14/2026)", "... (observed)") or added after one
    ("The Day following Mid-Autumn Festival"), not a holiday."""
    return bool(_SUBSTITUTE.search(name) or _DAY_AFTER.match(name))


def guess_tone(name: str) -> Tone:
    """The tone an English name suggests, for holidays no tone file lists."""
    if _MOURNING.search(name):
        return "mourning"
    if _OBSERVANCE.search(name):
        return "observance"
    return "celebration"


@lru_cache(maxsize=256)
def tone_table(country: str) -> dict[str, HolidayTone] | None:
    """The country's tone file as a mapping of English name to entry (None without one).

    A malformed file raises ``ValueError`` naming it: a shipped file is checked by the
    tests, so that is a packaging error, not something to plan around.
    """
    path = TONES_DIR / f"{country.upper()}.yaml"
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("holidays") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise ValueError(f"{path}: needs a 'holidays' mapping")
    table: dict[str, HolidayTone] = {}
    for name, entry in entries.items():
        tone = entry.get("tone") if isinstance(entry, dict) else None
        if tone not in TONES:
            raise ValueError(f"{path}: {name!r} needs a tone: one of {', '.join(TONES)}")
        table[str(name)] = HolidayTone(
            tone=tone,
            categories=tuple(entry.get("categories") or ()),
            eve=bool(entry.get("eve", False)),
            note=str(entry.get("note") or ""),
        )
    return table


def tone_of(country: str | None, name: str) -> Tone:
    """The tone of the holiday called ``name`` (English) in ``country``."""
    table = tone_table(country) if country else None
    entry = table.get(name) if table else None
    return entry.tone if entry is not None else guess_tone(name)


def is_eve(country: str | None, name: str) -> bool:
    """Whether the tone file marks the holiday as the eve of the one that follows."""
    table = tone_table(country) if country else None
    entry = table.get(name) if table else None
    return entry is not None and entry.eve


def shipped_countries() -> list[str]:
    """The countries with a tone file."""
    return sorted(path.stem for path in TONES_DIR.glob("*.yaml"))
