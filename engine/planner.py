"""Who gets what on a day, and why not: a pure function of its inputs.

``decide`` looks at one customer and one campaign; ``plan`` runs it over everyone.
Nothing here touches the database, the network or the real clock: the caller passes
the customers, their consent, the suppression list, the campaigns, the day and
"now". That keeps every rule testable by calling it, and lets ``rapport explain``
show exactly the reasoning ``rapport plan`` used.

"The day" is the customer's own local date: a birthday on 24 November is celebrated
on 24 November in Tehran and in Shanghai, at different UTC moments.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from rapport.engine.audience import audience_miss
from rapport.engine.campaigns import Campaign
from rapport.engine.config import Settings
from rapport.engine.lifecycle import EMPTY_HISTORY, OrderHistory, stage_of, tier_of
from rapport.engine.timeutil import as_utc
from rapport.engine.triggers import Miss, Occasion, find_occasion


class Reason(StrEnum):
    """Why a customer was or was not selected; stable codes for JSON and reports."""

    SELECTED = "selected"
    PAUSED = "paused"
    STAGE = "stage"
    TIER = "tier"
    COUNTRY = "country"
    LOCALE = "locale"
    NO_OCCASION = "no_occasion"
    NO_CALENDAR = "no_calendar"
    NO_CONSENT = "no_consent"
    NO_ADDRESS = "no_address"
    SUPPRESSED = "suppressed"
    WINDOW_PASSED = "window_passed"
    ALREADY_PLANNED = "already_planned"
    RENDER_ERROR = "render_error"


@dataclass(frozen=True)
class CustomerProfile:
    """Plain data about one customer, as the planner and templates need it."""

    id: str
    locale: str
    timezone: str
    first_name: str = ""
    last_name: str = ""
    email: str | None = None
    phone: str | None = None
    country: str | None = None
    birthday: date | None = None
    created_at: datetime | None = None
    history: OrderHistory = EMPTY_HISTORY

    def address(self, kind: str) -> str | None:
        return self.email if kind == "email" else self.phone if kind == "sms" else None


@dataclass(frozen=True)
class Decision:
    customer_id: str
    campaign: str
    reason: Reason
    detail: str = ""
    channel: str | None = None
    topic: str | None = None
    locale: str | None = None
    occasion: Occasion | None = None
    send_at: datetime | None = None
    expires_at: datetime | None = None
    stage: str | None = None
    tier: str | None = None

    @property
    def selected(self) -> bool:
        return self.reason is Reason.SELECTED

    @property
    def idempotency_key(self) -> str:
        """One message per (customer, campaign, occasion, channel), ever."""
        assert self.occasion is not None and self.channel is not None
        return f"{self.customer_id}:{self.campaign}:{self.occasion.key}:{self.channel}"


@dataclass(frozen=True)
class Audiences:
    """What the planner needs to know about consent and suppression, as plain sets."""

    #: customer id -> {(channel, topic)} currently granted
    granted: Mapping[str, frozenset[tuple[str, str]] | set[tuple[str, str]]]
    #: {(kind, address)} suppressed on every topic, e.g. ("email", "a@example.com")
    suppressed: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset()


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def history_cutoff(day: date, now: datetime) -> datetime:
    """Orders that count for ``day``: those placed by the end of that day anywhere
    (UTC-12 is the last zone to finish it), and never after ``now``.

    Planning or explaining a past date then sees the customer as they were that day.
    """
    end_of_day = datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC) + timedelta(
        hours=12
    )
    return min(now, end_of_day)


def local_day(moment: datetime, timezone: str) -> date:
    return as_utc(moment).astimezone(_zone(timezone)).date()


def send_window(
    campaign: Campaign, customer: CustomerProfile, day: date, settings: Settings
) -> tuple[datetime, datetime]:
    """The UTC moments the campaign's local send window opens and closes on ``day``."""
    window = campaign.send_window
    start: time = window.start if window else settings.planning.default_window_start
    end: time = window.end if window else settings.planning.default_window_end
    zone = _zone(customer.timezone)
    opens = as_utc(datetime.combine(day, start, tzinfo=zone))
    closes = as_utc(datetime.combine(day, end, tzinfo=zone))
    return opens, closes


def decide(
    customer: CustomerProfile,
    campaign: Campaign,
    audiences: Audiences,
    day: date,
    now: datetime,
    settings: Settings,
) -> Decision:
    """Whether ``campaign`` messages ``customer`` on ``day``, through which channel and when."""
    history = customer.history
    last_day = (
        local_day(history.last_order_at, customer.timezone) if history.last_order_at else None
    )
    stage = stage_of(history, last_day, day, settings.lifecycle)
    tier = tier_of(history.spend_12m, settings.tiers)

    def skip(reason: Reason, detail: str = "") -> Decision:
        return Decision(customer.id, campaign.id, reason, detail, stage=stage, tier=tier)

    if campaign.paused:
        return skip(Reason.PAUSED, "campaign is paused")
    miss = audience_miss(campaign.audience, customer, stage, tier)
    if miss is not None:
        return skip(Reason(miss.code), miss.detail)

    occasion = find_occasion(campaign, customer, day)
    if isinstance(occasion, Miss):
        reason = Reason(occasion.code)
        detail = {
            Reason.NO_CALENDAR: f"no holiday calendar for country {customer.country or 'unknown'}",
        }.get(reason, f"no {campaign.trigger.type} occasion on {day.isoformat()}")
        return skip(reason, detail)

    opens, closes = send_window(campaign, customer, day, settings)
    if now >= closes:
        return skip(Reason.WINDOW_PASSED, f"the local send window closed at {closes.isoformat()}")

    granted = audiences.granted.get(customer.id, frozenset())
    tried: list[str] = []
    for channel in campaign.channels:
        kind = settings.channels[channel].kind or channel
        if (channel, campaign.topic) not in granted:
            tried.append(f"{channel}: no consent for {campaign.topic}")
            continue
        address = customer.address(kind)
        if not address:
            tried.append(f"{channel}: no address")
            continue
        if (kind, address) in audiences.suppressed:
            tried.append(f"{channel}: address suppressed")
            continue
        return Decision(
            customer.id,
            campaign.id,
            Reason.SELECTED,
            f"{occasion.kind} on {occasion.date.isoformat()} via {channel}",
            channel=channel,
            topic=campaign.topic,
            locale=customer.locale,
            occasion=occasion,
            send_at=max(opens, now),
            expires_at=closes,
            stage=stage,
            tier=tier,
        )
    reason = _channel_reason(tried)
    return skip(reason, "; ".join(tried))


def _channel_reason(tried: list[str]) -> Reason:
    if any("suppressed" in t for t in tried):
        return Reason.SUPPRESSED
    if all("no address" in t for t in tried):
        return Reason.NO_ADDRESS
    return Reason.NO_CONSENT


def plan(
    customers: Iterable[CustomerProfile],
    campaigns: Iterable[Campaign],
    audiences: Audiences,
    day: date,
    now: datetime,
    settings: Settings,
) -> Iterator[Decision]:
    """Every decision for every (customer, campaign), selected or not.

    Campaigns are tried in priority order (lower number first) so callers that cap
    messages per customer keep the most important one.
    """
    ordered = sorted(campaigns, key=lambda c: (c.priority, c.id))
    for customer in customers:
        for campaign in ordered:
            yield decide(customer, campaign, audiences, day, now, settings)
