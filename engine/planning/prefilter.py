"""Which customers a planning run needs to read at all: a pre-filter in SQL.

A tick that has little to do (a few birthdays and reorder nudges, or the same tick
again) must not read every customer, their consent and their orders only for the
planner to answer "no occasion" for nearly all of them. :func:`candidate_clause`
turns the run's campaigns into one boolean clause over the ``customer`` table that
keeps a *superset* of the customers the planner could select (or hold out) that day:
per campaign, the trigger's occasion written as a date condition, and the consent the
campaign needs. A customer the clause leaves out would only get decisions such as
``no_occasion``, ``no_consent``, ``paused`` or ``not_active``, none of which plans or
records anything, so the planner run on the rest plans exactly what it plans on
everyone (``tests/engine/planning/test_prefilter_superset.py`` checks this on SQLite
and PostgreSQL).

The clause errs towards reading too many: it ignores the audience, addresses,
windows and caps, and where a trigger's occasion depends on data SQL cannot see
cheaply (a learned reorder rhythm) it keeps everyone who could have it at all.

Each trigger's date condition is written beside its finder
(:func:`rapport.engine.triggers.trigger_reach`; the local-date arithmetic is in
:mod:`rapport.engine.triggers.sql`); this module combines them with the consent each
campaign needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, exists, false, or_, true

from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.models import (
    CONSENT_STATE,
    CUSTOMER,
    ConsentStatus,
)
from rapport.engine.planning.planner import history_cutoff
from rapport.engine.triggers import Reach, trigger_reach

__all__ = ["candidate_clause"]


def candidate_clause(
    campaigns: Sequence[Campaign],
    day: date,
    now: datetime,
    settings: Settings,
    *,
    consent: bool = True,
) -> ColumnElement[bool] | None:
    """A clause over ``customer`` keeping everyone the planner could select for any of
    ``campaigns`` on ``day`` at ``now``; None means "read everyone".

    Paused campaigns and campaigns not active on ``day`` select nobody and add
    nothing; with no campaign left the clause is ``false()``. With ``consent`` (the
    default) each campaign also requires a granted ``consent_state`` row for its topic
    on one of its channels, exactly the planner's own consent test, so even a
    campaign that can reach anyone (a recurring date, a holiday) narrows the read to
    those who may hear from it. Without ``consent``, such a campaign makes the whole
    result None.

    The clause correlates with ``customer``: use it in ``select(...)`` over that table.
    """
    cutoff = history_cutoff(day, now)
    # Campaigns asking the same consent share one EXISTS: (topic, channels) -> reaches.
    by_consent: dict[tuple[str, tuple[str, ...]], list[Reach]] = {}
    for campaign in campaigns:
        if not _active(campaign, day):
            continue
        reach = _reach(campaign, day, cutoff, settings)
        if reach is False:
            continue
        key = (campaign.topic, tuple(sorted(set(campaign.channels))))
        by_consent.setdefault(key, []).append(reach)
    if not consent:
        reaches = [reach for group in by_consent.values() for reach in group]
        if any(reach is True for reach in reaches):
            return None
        return _any(reaches)
    parts: list[Reach] = []
    for (topic, channels), reaches in by_consent.items():
        granted = _granted(topic, channels)
        if any(reach is True for reach in reaches):
            parts.append(granted)
        else:
            # The date condition first: it is cheap and rejects most rows, so the
            # EXISTS runs only for the few left.
            parts.append(and_(_any(reaches), granted))
    return _any(parts)


def _active(campaign: Campaign, day: date) -> bool:
    """Mirrors the planner's first checks: paused or out-of-dates campaigns select nobody."""
    if campaign.paused:
        return False
    if campaign.starts_on and day < campaign.starts_on:
        return False
    return not (campaign.ends_on and day > campaign.ends_on)


def _any(reaches: Sequence[Reach]) -> ColumnElement[bool]:
    """One clause for "any of these": ``false()`` for none."""
    clauses = [true() if r is True else r for r in reaches if r is not False]
    if not clauses:
        return false()
    return or_(*clauses) if len(clauses) > 1 else clauses[0]


def _granted(topic: str, channels: tuple[str, ...]) -> ColumnElement[bool]:
    """The planner's consent test: ``(channel, topic)`` granted for one of the channels."""
    return exists().where(
        CONSENT_STATE.c.customer_id == CUSTOMER.c.id,
        CONSENT_STATE.c.status == ConsentStatus.GRANTED.value,
        CONSENT_STATE.c.topic == topic,
        CONSENT_STATE.c.channel.in_(channels),
    )


def _reach(campaign: Campaign, day: date, cutoff: datetime, settings: Settings) -> Reach:
    """Who the campaign's trigger can reach (its family's clause, beside its finder)."""
    return trigger_reach(campaign.trigger, day, cutoff, settings.tiers)
