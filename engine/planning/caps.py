"""Frequency caps: how many marketing messages a customer has had, and may still get.

Counted in the customer's local days over what is already in the outbox (queued,
sending or sent; not suppressed, failed or held out) plus what the current planning
run has just selected for them. Pure, like the planner that uses it.

Holiday offers have a cap of their own: at most one every ``caps.holiday_offer_gap_days``
days (7 by default), whichever holiday campaigns they come from, so adjacent or
close holidays (除夕 and 春节, Eid al-Fitr and Nowruz) do not bring a run of offers.
A holiday offer is a message about a holiday occasion from a campaign with an offer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Caps, Settings


@dataclass(frozen=True)
class RecentMessage:
    """A marketing message already planned or sent, on the customer's local ``day``."""

    campaign: str
    channel: str
    day: date
    #: The occasion key (``holiday:Nowruz:2027-03-21``); empty where unknown.
    occasion: str = ""


@dataclass(frozen=True)
class Block:
    """Which cap stops a message, and whether this run's own choices filled it."""

    detail: str
    by_this_run: bool
    winner: str | None = None


class Tally:
    """``holiday_offers``: the ids of the campaigns whose holiday messages carry an
    offer (see :func:`holiday_offer_campaigns`)."""

    def __init__(
        self,
        recent: Iterable[RecentMessage],
        day: date,
        holiday_offers: frozenset[str] = frozenset(),
    ) -> None:
        self.day = day
        self.before = list(recent)
        self.now: list[RecentMessage] = []
        self.holiday_offers = holiday_offers

    def add(self, campaign: str, channel: str, occasion: str = "") -> None:
        self.now.append(RecentMessage(campaign, channel, self.day, occasion))

    def blocked(self, campaign: Campaign, channel: str, settings: Settings) -> Block | None:
        detail = self._limit(self.before + self.now, campaign, channel, settings)
        if detail is None:
            return None
        without_run = self._limit(self.before, campaign, channel, settings)
        if without_run is None and self.now:
            return Block(detail, True, self.now[0].campaign)
        return Block(detail, False)

    def _limit(
        self, messages: list[RecentMessage], campaign: Campaign, channel: str, settings: Settings
    ) -> str | None:
        day = self.day
        week = [m for m in messages if day - timedelta(days=6) <= m.day <= day]
        today = [m for m in week if m.day == day]
        reached = _caps("", settings.caps, today, week)
        if reached:
            return reached
        channel_caps = settings.caps.channels.get(channel)
        if channel_caps is not None:
            mine = [m for m in week if m.channel == channel]
            reached = _caps(f"{channel} ", channel_caps, [m for m in mine if m.day == day], mine)
            if reached:
                return reached
        if campaign.id in self.holiday_offers:
            reached = _holiday_gap(messages, self.holiday_offers, day, settings)
            if reached:
                return reached
        return _campaign_limit(messages, campaign, day)


def holiday_offer_campaigns(campaigns: Iterable[Campaign]) -> frozenset[str]:
    """The campaigns whose messages are holiday offers: a holiday trigger and an offer."""
    return frozenset(c.id for c in campaigns if c.trigger.type == "holiday" and c.offer.gives)


def _holiday_gap(
    messages: list[RecentMessage], offers: frozenset[str], day: date, settings: Settings
) -> str:
    gap = settings.caps.holiday_offer_gap_days
    close = [
        m
        for m in messages
        if m.campaign in offers
        and m.occasion.startswith("holiday:")
        and abs((day - m.day).days) < gap
    ]
    if not close:
        return ""
    return (
        f"a holiday offer went out on {close[-1].day.isoformat()}; at most one every "
        f"{gap} days (caps.holiday_offer_gap_days)"
    )


def _caps(label: str, caps: Caps, today: list[RecentMessage], week: list[RecentMessage]) -> str:
    if caps.per_day is not None and len(today) >= caps.per_day:
        return f"{label}cap of {caps.per_day} a day reached"
    if caps.per_week is not None and len(week) >= caps.per_week:
        return f"{label}cap of {caps.per_week} a week reached"
    return ""


def _campaign_limit(messages: list[RecentMessage], campaign: Campaign, day: date) -> str | None:
    own = [m for m in messages if m.campaign == campaign.id]
    frequency = campaign.frequency
    if frequency.min_days_between is not None:
        close = [m for m in own if abs((day - m.day).days) < frequency.min_days_between]
        if close:
            return (
                f"campaign sent on {close[-1].day.isoformat()}; at most once every "
                f"{frequency.min_days_between} days"
            )
    if frequency.max_per_week is not None:
        week = [m for m in own if day - timedelta(days=6) <= m.day <= day]
        if len(week) >= frequency.max_per_week:
            return f"campaign cap of {frequency.max_per_week} a week reached"
    if frequency.max_per_month is not None:
        month = [m for m in own if day - timedelta(days=29) <= m.day <= day]
        if len(month) >= frequency.max_per_month:
            return f"campaign cap of {frequency.max_per_month} in 30 days reached"
    return None
