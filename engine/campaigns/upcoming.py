"""A campaign's next occasions, for the marketer's list of campaigns (``/admin/campaigns``).

Two kinds of trigger fire on days that do not depend on the customer beyond their
country: ``recurring`` (a cron expression: the same dates for everyone) and
``holiday`` (a country's calendar). For those the next few sending days are found by
asking the trigger itself (:func:`rapport.engine.triggers.find_occasion`) about a
customer of each country, day by day, so what is listed is what the planner would
find, runs of adjacent holidays, tones and ``days_before`` included. Every other
trigger (a birthday, a reorder, an event...) fires on each customer's own day, so the
list says so and shows the trigger's settings instead of dates.

The work is bounded: at most :data:`MAX_COUNTRIES` countries, :data:`HORIZON_DAYS`
days ahead and :data:`MAX_OCCASIONS` occasions are looked at, whatever the
configuration says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Settings
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.triggers import Occasion, find_occasion

__all__ = ["HORIZON_DAYS", "MAX_COUNTRIES", "MAX_OCCASIONS", "Upcoming", "next_occasions"]

#: How far ahead occasions are looked for.
HORIZON_DAYS = 366
#: The most countries a holiday campaign's calendar is read for.
MAX_COUNTRIES = 8
#: The most occasions listed per campaign.
MAX_OCCASIONS = 3

#: Trigger types whose occasion is the same day for every customer (of a country).
CALENDAR_TRIGGERS = frozenset({"recurring", "holiday"})


@dataclass(frozen=True, slots=True)
class NextOccasion:
    """One sending day, and what it is for (``Nowruz (IR)``), if it has a name."""

    day: date
    label: str = ""


@dataclass(frozen=True, slots=True)
class Upcoming:
    """What the list shows for a campaign: its rule, and its next sending days when
    the trigger fires on calendar days (else ``per_customer`` is true)."""

    rule: str
    per_customer: bool
    occasions: list[NextOccasion] = field(default_factory=list)
    note: str = ""


def trigger_rule(campaign: Campaign) -> str:
    """The trigger as a marketer wrote it: ``birthday (days_before: 3)``."""
    settings = campaign.trigger.model_dump(exclude={"type"}, exclude_defaults=True)
    shown = ", ".join(f"{key}: {_value(value)}" for key, value in settings.items())
    return f"{campaign.trigger.type} ({shown})" if shown else campaign.trigger.type


def _value(value: object) -> str:
    """A setting as written in YAML's flow style, without Python's quotes."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)


def next_occasions(
    campaign: Campaign,
    settings: Settings,
    start: date,
    countries: Sequence[str] = (),
    *,
    count: int = MAX_OCCASIONS,
) -> Upcoming:
    """The campaign's next ``count`` sending days from ``start`` (inclusive).

    ``countries``: whose calendars a holiday campaign is read in (the customers'
    countries, the first :data:`MAX_COUNTRIES`). A paused campaign, or one whose
    ``ends_on`` has passed, has none.
    """
    rule = trigger_rule(campaign)
    kind = campaign.trigger.type
    if kind not in CALENDAR_TRIGGERS:
        return Upcoming(rule, per_customer=True, note="on each customer's own day")
    if campaign.paused:
        return Upcoming(rule, per_customer=False, note="paused")
    first = max(start, campaign.starts_on or start)
    last = start + timedelta(days=HORIZON_DAYS - 1)
    if campaign.ends_on is not None:
        last = min(last, campaign.ends_on)
    asked = [c.upper() for c in countries if c][:MAX_COUNTRIES] if kind == "holiday" else [""]
    if not asked:
        return Upcoming(rule, per_customer=False, note="no customer with a country yet")
    profiles = [
        CustomerProfile(id="", locale="en", timezone="UTC", country=c or None) for c in asked
    ]
    found: list[NextOccasion] = []
    day = first
    while day <= last and len(found) < min(count, MAX_OCCASIONS):
        labels = []
        for profile in profiles:
            occasion = find_occasion(campaign, profile, day, settings)
            if isinstance(occasion, Occasion):
                labels.append(f"{occasion.name} ({profile.country})" if occasion.name else "")
        if labels:
            found.append(NextOccasion(day, "; ".join(dict.fromkeys(x for x in labels if x))))
        day += timedelta(days=1)
    note = "" if found else f"none in the next {HORIZON_DAYS} days"
    return Upcoming(rule, per_customer=False, occasions=found, note=note)
