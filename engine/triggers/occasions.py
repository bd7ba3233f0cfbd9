"""What a trigger finds: an :class:`Occasion` to message about, or a :class:`Miss`.

Shared by the trigger modules; import them from :mod:`rapport.engine.triggers`.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rapport.engine.customers.profile import EventRecord


@dataclass(frozen=True)
class Miss:
    """No occasion. ``code`` is the planner's reason code (``no_occasion``,
    ``no_calendar``); ``detail`` says why in words, when there is more to say than
    "not today" (no birthday on file, no orders yet, ...)."""

    code: str
    detail: str = ""


NO_OCCASION = Miss("no_occasion")
NO_CALENDAR = Miss("no_calendar")


def no_occasion(detail: str) -> Miss:
    return Miss("no_occasion", detail)


@dataclass(frozen=True)
class Occasion:
    """What a message is about; ``key`` makes the idempotency key unique per occasion.

    ``date`` is the occasion's own local date (the birthday, the holiday's first day),
    which is later than the planning day when the trigger sends ahead.
    """

    kind: str
    key: str
    # datetime.date: the field's name hides the type inside the class body.
    date: datetime.date
    #: The holiday's English name (templates get it in the customer's language).
    name: str | None = None
    #: Every holiday of the day the message greets, ``name`` first: two of one tone on
    #: one day (Nowruz and Eid al-Fitr on 21 March 2026) are one occasion naming both.
    names: tuple[str, ...] = ()
    #: The SKU a reorder, feedback or welcome occasion is about.
    sku: str | None = None
    #: The local date of the order the occasion refers to (reorder: the last order of
    #: the SKU; win-back: the last order; feedback and welcome: that order).
    last_ordered_at: datetime.date | None = None
    #: Which anniversary (1, 2, ...) or how old the customer turns.
    years: int | None = None
    #: The tier just reached.
    tier: str | None = None
    #: The order a feedback or welcome occasion is about.
    order_id: str | None = None
    #: The holiday's tone: ``celebration``, ``observance`` or ``mourning`` (see
    #: :mod:`rapport.engine.triggers.tones`); None for other kinds.
    tone: str | None = None
    #: The event an ``event`` occasion follows (its name, id, occurrence and data).
    event: EventRecord | None = None
    #: Other keys the same occasion may be in the outbox under: a welcome or feedback
    #: occasion is keyed by the first order of its day, and an order of that day
    #: imported later, placed earlier, takes that place (the keys of the day's other
    #: orders).
    also_keys: tuple[str, ...] = ()

    def planned_in(self, campaign: str, planned: Collection[tuple[str, str]]) -> bool:
        """Whether ``planned`` (campaign, occasion key pairs) holds this occasion."""
        return (campaign, self.key) in planned or any(
            (campaign, key) in planned for key in self.also_keys
        )


def same_day_in(year: int, day: date) -> date:
    """``day``'s month and day in ``year``; 29 February falls on 28 February in years
    without one."""
    try:
        return day.replace(year=year)
    except ValueError:
        return date(year, 2, 28)
