"""The ``event`` trigger: a campaign that follows an event another system posted.

``{type: event, name: order_shipped, delay: 2d}`` has an occasion on the customer's
local day that is two days after the local day the event occurred on (both in the
customer's time zone, like every other trigger). Several events of the name on one
local day make one occasion, keyed by that day (``event:order_shipped:2026-12-04``),
about the first of them; its event (name, id, occurrence, data) rides on the
:class:`~rapport.engine.triggers.occasions.Occasion` into the template context.

The finder is pure: it reads ``CustomerProfile.events``, which the profile reader
fills only with what :func:`event_query` asks for (the names the run's event
campaigns follow, since the longest delay plus a day of time zones), so planning
stays a function of (customers, consent, campaigns, date) and reads no more events
than it can use. Beside the finder, its pre-filter clause (:func:`event_reach`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import exists

from rapport.engine.core.config import TierConfig
from rapport.engine.core.models import CUSTOMER, CUSTOMER_EVENT
from rapport.engine.core.timeutil import local_date
from rapport.engine.customers.events import EventQuery
from rapport.engine.triggers import sql
from rapport.engine.triggers.models import EventTrigger
from rapport.engine.triggers.occasions import Miss, Occasion, no_occasion
from rapport.engine.triggers.sql import Reach

if TYPE_CHECKING:
    from rapport.engine.customers.profile import CustomerProfile


def event(
    trigger: EventTrigger, customer: CustomerProfile, day: date, tiers: TierConfig
) -> Occasion | Miss:
    """The first ``trigger.name`` event on the local day ``delay`` before ``day``."""
    try:
        wanted = day - timedelta(days=trigger.days)
    except OverflowError:
        return no_occasion("the event would be before the calendar begins")
    for record in customer.events:  # oldest first
        if record.name == trigger.name and local_date(record.occurred_at, customer.timezone) == (
            wanted
        ):
            key = f"event:{trigger.name}:{wanted.isoformat()}"
            return Occasion("event", key, day, event=record)
    return no_occasion(f"no {trigger.name} event on {wanted.isoformat()} ({trigger.delay} before)")


def event_reach(trigger: EventTrigger, day: date, cutoff: datetime, tiers: TierConfig) -> Reach:
    """An event of the name that falls on local ``day - delay`` somewhere on Earth."""
    when = sql.days_before(day, trigger.days)
    if when is None:
        return False
    table = CUSTOMER_EVENT.c
    return exists().where(
        table.customer_id == CUSTOMER.c.id,
        table.name == trigger.name,
        sql.on_local_days(table.occurred_at, when, when),
        table.occurred_at <= cutoff,
    )


def event_query(triggers: Iterable[object], day: date) -> EventQuery | None:
    """The events planning ``day`` must read for campaigns with these triggers: the
    names their event triggers follow, occurred since the UTC midnight before the
    earliest local day they look back to; None when no trigger follows an event."""
    wanted = [trigger for trigger in triggers if isinstance(trigger, EventTrigger)]
    if not wanted:
        return None
    earliest = sql.days_before(day, max(trigger.days for trigger in wanted))
    since = sql.midnight(earliest, -1) if earliest is not None else None
    return EventQuery(
        tuple(sorted({trigger.name for trigger in wanted})),
        since or datetime.min.replace(tzinfo=UTC),
    )
