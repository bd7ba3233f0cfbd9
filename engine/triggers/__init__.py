"""Triggers: whether a campaign has an occasion for a customer on a day.

Each trigger type answers one question about one customer on one local date, from
plain data (profile, order history, calendars); missing data (no birthday, no
orders, no calendar for the country) means no occasion, never an error. The
occasion's ``key`` names it uniquely, so the outbox refuses a second message for it:

==============  ============================================  ==========================
type            occasion                                      key
==============  ============================================  ==========================
birthday        the birthday, N days before or after          ``birthday:2027``
anniversary     the sign-up anniversary                       ``anniversary:2027``
holiday         a holiday's first day, N days before          ``holiday:Nowruz:2027-03-21``
reorder         a SKU's interval after its last order         ``reorder:SERUM:2027-02-19``
welcome         N days after the first order (or sign-up)     ``welcome:O-1`` / ``welcome:signup``
winback         the last order exactly N days old             ``winback:2026-11-03``
tier_reached    the day the loyalty tier rises                ``tier:vib:2027-02-01``
feedback        N days after an order                         ``feedback:O-7``
recurring       every date a cron expression matches          ``recurring:2027-03-01``
event           N days after an event another system posted   ``event:order_shipped:2027-03-01``
==============  ============================================  ==========================

The keys a campaign file may use are documented on the models in
:mod:`rapport.engine.triggers.models`; the finders live in
:mod:`rapport.engine.triggers.dates` (calendar), :mod:`rapport.engine.triggers.orders`
(order history) and :mod:`rapport.engine.triggers.events` (posted events). A new
trigger type is a model in :mod:`rapport.engine.triggers.models` (added to its
``Trigger`` union), a finder and its pre-filter clause side by side in a family
module, and one entry in each table below (``_FINDERS``, ``_REACHES``);
:mod:`rapport.engine.planning.prefilter` combines the clauses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_

from rapport.engine.core.config import TierConfig
from rapport.engine.triggers import dates
from rapport.engine.triggers import events as event_triggers
from rapport.engine.triggers import orders as order_triggers
from rapport.engine.triggers.models import (
    AnniversaryTrigger,
    BirthdayTrigger,
    EventTrigger,
    FeedbackTrigger,
    HolidayTrigger,
    RecurringTrigger,
    ReorderTrigger,
    TierReachedTrigger,
    Trigger,
    WelcomeTrigger,
    WinbackTrigger,
)
from rapport.engine.triggers.mourning import (
    mourned_on,
    mourning_anywhere_before,
    mourning_before,
    mourning_country,
)
from rapport.engine.triggers.occasions import (
    NO_CALENDAR,
    NO_OCCASION,
    Miss,
    Occasion,
    no_occasion,
)
from rapport.engine.triggers.sql import Reach

event_query = event_triggers.event_query

if TYPE_CHECKING:
    from rapport.engine.campaigns.model import Campaign
    from rapport.engine.core.config import Settings
    from rapport.engine.customers.profile import CustomerProfile

__all__ = [
    "NO_CALENDAR",
    "NO_OCCASION",
    "Miss",
    "Occasion",
    "Reach",
    "event_query",
    "find_occasion",
    "trigger_reach",
]


_FINDERS: dict[type, Callable[[Any, CustomerProfile, date, TierConfig], Occasion | Miss]] = {
    BirthdayTrigger: dates.birthday,
    AnniversaryTrigger: dates.anniversary,
    HolidayTrigger: dates.holiday,
    RecurringTrigger: dates.recurring,
    ReorderTrigger: order_triggers.reorder,
    WelcomeTrigger: order_triggers.welcome,
    WinbackTrigger: order_triggers.winback,
    TierReachedTrigger: order_triggers.tier_reached,
    FeedbackTrigger: order_triggers.feedback,
    EventTrigger: event_triggers.event,
}

#: Each type's pre-filter clause (see :mod:`rapport.engine.planning.prefilter`).
_REACHES: dict[type, Callable[[Any, date, datetime, TierConfig], Reach]] = {
    BirthdayTrigger: dates.birthday_reach,
    AnniversaryTrigger: dates.anniversary_reach,
    HolidayTrigger: dates.holiday_reach,
    RecurringTrigger: dates.recurring_reach,
    ReorderTrigger: order_triggers.reorder_reach,
    WelcomeTrigger: order_triggers.welcome_reach,
    WinbackTrigger: order_triggers.winback_reach,
    TierReachedTrigger: order_triggers.tier_reached_reach,
    FeedbackTrigger: order_triggers.feedback_reach,
    EventTrigger: event_triggers.event_reach,
}


def trigger_reach(trigger: Trigger, day: date, cutoff: datetime, tiers: TierConfig) -> Reach:
    """Who ``trigger`` could find an occasion for on ``day``, as a clause over the
    ``customer`` table (a superset), or True (anyone) or False (no one). ``cutoff`` is
    the latest order the planner reads. A type without a clause reaches anyone, so a
    new type is read in full until someone writes its clause."""
    rule = _REACHES.get(type(trigger))
    if rule is None:
        return True
    reach = rule(trigger, day, cutoff, tiers)
    if isinstance(trigger, HolidayTrigger) and trigger.days_before == 0:
        return reach  # sent on the holiday itself, which the finder judges: nothing waits
    # The day after a run of mourning also reaches whom the run held back.
    held = [rule(trigger, earlier, cutoff, tiers) for earlier in mourning_anywhere_before(day)]
    return _any_of(reach, *held)


def _any_of(*reaches: Reach) -> Reach:
    """One reach for "any of these" (True and False are anyone and no one)."""
    if any(r is True for r in reaches):
        return True
    clauses = [r for r in reaches if not isinstance(r, bool)]
    if not clauses:
        return False
    return clauses[0] if len(clauses) == 1 else or_(*clauses)


def find_occasion(
    campaign: Campaign,
    customer: CustomerProfile,
    day: date,
    settings: Settings | None = None,
) -> Occasion | Miss:
    """The occasion this campaign has for this customer on their local ``day``, or why
    there is none.

    ``settings`` gives the operator's loyalty tiers (``tier_reached``); without it
    the default tiers apply, which suits tests, not production. On a day of mourning
    in the customer's country (:func:`~rapport.engine.triggers.mourning.mourning_country`)
    a congratulation or an offer has no occasion, and has
    it on the day after the run of mourning days instead
    (:mod:`rapport.engine.triggers.mourning`).
    """
    trigger = campaign.trigger
    finder = _FINDERS.get(type(trigger))
    if finder is None:
        raise TypeError(f"unhandled trigger {trigger!r}")  # a new trigger type needs one
    tiers = settings.tiers if settings is not None else _DEFAULT_TIERS
    found = finder(trigger, customer, day, tiers)
    if isinstance(trigger, HolidayTrigger):
        if isinstance(found, Occasion) and found.tone == "mourning" and campaign.offer.gives:
            # campaigns validate refuses this pair; a file that slipped past it still
            # never sends an offer on a day of mourning.
            return no_occasion(f"{found.name} is a day of mourning: never an offer on it")
        if trigger.days_before == 0:
            return found  # the holiday is the day: its own tone decides (dates._wanted)
        # Sent days ahead, a greeting lands on another day, which may be one of mourning.
    elif not isinstance(trigger, _CONGRATULATIONS) and not campaign.offer.gives:
        return found
    # A congratulation or an offer waits out the customer's days of mourning (see
    # rapport.engine.triggers.mourning), then goes out once, on the day after them.
    country = mourning_country(customer)
    mourned = mourned_on(country, day)
    if mourned is not None:
        if not isinstance(found, Occasion) or not _waits(campaign, found):
            return found
        return no_occasion(
            f"{mourned} is a day of mourning in {(country or '').upper()}: no "
            f"offer and no congratulation on it; this {found.kind} message waits for the "
            "day after"
        )
    if isinstance(found, Occasion):
        return found
    for earlier in mourning_before(country, day):
        held = finder(trigger, customer, earlier, tiers)
        if isinstance(held, Occasion) and _waits(campaign, held):
            return held
    return found


#: Triggers whose messages congratulate, offer or not.
_CONGRATULATIONS = (BirthdayTrigger, AnniversaryTrigger, TierReachedTrigger)


def _waits(campaign: Campaign, occasion: Occasion) -> bool:
    """Whether the message congratulates or offers, and so waits out a day of mourning:
    any offer, a birthday, anniversary or tier greeting, and a holiday's celebration
    (a respectful note ahead of an observance or a day of mourning need not wait)."""
    if campaign.offer.gives:
        return True
    if isinstance(campaign.trigger, HolidayTrigger):
        return occasion.tone == "celebration"
    return isinstance(campaign.trigger, _CONGRATULATIONS)


_DEFAULT_TIERS = TierConfig()
