"""Who gets what on a day, and why not: a pure function of its inputs.

``decide`` asks whether one campaign is for one customer on a day (audience, occasion,
consent, address, suppression, window); ``plan_customer`` then weighs every campaign
for that customer together: priority order, frequency caps, holdout and A/B variant;
``plan`` runs it over everyone.
Nothing here touches the database, the network or the real clock: the caller passes
the customers, their consent, the suppression list, the campaigns, the day and
"now". That keeps every rule testable by calling it, and lets ``rapport explain``
show exactly the reasoning ``rapport plan`` used.

"The day" is the customer's own local date: a birthday on 24 November is celebrated
on 24 November in Tehran and in Shanghai, at different UTC moments.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from rapport.engine.campaigns.audience import audience_miss
from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.models import idempotency_key
from rapport.engine.core.timeutil import known_zone, local_date, unknown_zone
from rapport.engine.customers.lifecycle import (
    segment_for,
    stage_of,
    tier_of,
)
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.planning.caps import RecentMessage, Tally, holiday_offer_campaigns
from rapport.engine.planning.windows import channel_window, empty_window_why
from rapport.engine.triggers import Miss, Occasion, find_occasion


class Reason(StrEnum):
    """Why a customer was or was not selected; stable codes for JSON and reports."""

    SELECTED = "selected"
    PAUSED = "paused"
    STAGE = "stage"
    TIER = "tier"
    COUNTRY = "country"
    LOCALE = "locale"
    SEGMENT = "segment"
    LIFETIME_VALUE = "lifetime_value"
    CONDITION = "condition"
    NO_OCCASION = "no_occasion"
    NO_CALENDAR = "no_calendar"
    NO_CONSENT = "no_consent"
    NO_ADDRESS = "no_address"
    SUPPRESSED = "suppressed"
    WINDOW_PASSED = "window_passed"
    QUIET_HOURS = "quiet_hours"
    NOT_ACTIVE = "not_active"
    CAP_REACHED = "cap_reached"
    LOST_TO_PRIORITY = "lost_to_priority"
    HOLDOUT = "holdout"
    ALREADY_PLANNED = "already_planned"
    RENDER_ERROR = "render_error"


@dataclass(frozen=True)
class ChannelOption:
    channel: str
    send_at: datetime
    expires_at: datetime


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
    segment: str | None = None
    #: The A/B variant (None without variants) and the template set it renders.
    variant: str | None = None
    template_set: str | None = None
    #: Every channel the customer could be reached on, in the campaign's order; caps
    #: may rule out the first and fall back to the next.
    options: tuple[ChannelOption, ...] = ()

    @property
    def selected(self) -> bool:
        return self.reason is Reason.SELECTED

    def but(self, **changes: Any) -> Decision:
        """A copy with ``changes``: ``dataclasses.replace`` without its per-call field
        scan and eighteen frozen ``setattr`` calls (planning makes one or two per
        selected customer). Decision has no ``__post_init__`` to skip."""
        made = object.__new__(Decision)
        made.__dict__.update(self.__dict__, **changes)
        return made

    @property
    def idempotency_key(self) -> str:
        """One message per (customer, campaign, occasion, channel), ever."""
        assert self.occasion is not None and self.channel is not None
        return idempotency_key(self.customer_id, self.campaign, self.occasion.key, self.channel)


@dataclass(frozen=True)
class Audiences:
    """What the planner needs to know about consent and suppression, as plain sets."""

    #: customer id -> {(channel, topic)} currently granted
    granted: Mapping[str, frozenset[tuple[str, str]] | set[tuple[str, str]]]
    #: {(kind, address)} suppressed on every topic, e.g. ("email", "a@example.com")
    suppressed: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset()
    #: customer id -> marketing messages already planned or sent (for caps)
    recent: Mapping[str, Sequence[RecentMessage]] = field(default_factory=dict)
    #: customer id -> {(campaign, occasion key)} already in the outbox, in any state
    planned: Mapping[str, frozenset[tuple[str, str]] | set[tuple[str, str]]] = field(
        default_factory=dict
    )


def history_cutoff(day: date, now: datetime) -> datetime:
    """Orders that count for ``day``: those placed by the end of that day anywhere
    (UTC-12 is the last zone to finish it), and never after ``now``.

    Planning or explaining a past date then sees the customer as they were that day.
    """
    end_of_day = datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC) + timedelta(
        hours=12
    )
    return min(now, end_of_day)


def decide(
    customer: CustomerProfile,
    campaign: Campaign,
    audiences: Audiences,
    day: date,
    now: datetime,
    settings: Settings,
) -> Decision:
    """Whether ``campaign`` is for ``customer`` on ``day``, ignoring the other campaigns.

    Selected decisions carry every channel the customer can be reached on; caps,
    priority and holdout are applied by :func:`plan_customer`.
    """
    history = customer.history
    last_day = (
        local_date(history.last_order_at, customer.timezone) if history.last_order_at else None
    )
    stage = stage_of(history, last_day, day, settings.lifecycle)
    tier = tier_of(history.spend_12m, settings.tiers)
    segment = segment_for(history, last_day, day)

    def skip(reason: Reason, detail: str = "") -> Decision:
        return Decision(
            customer.id, campaign.id, reason, detail, stage=stage, tier=tier, segment=segment
        )

    if campaign.paused:
        return skip(Reason.PAUSED, "campaign is paused")
    if campaign.starts_on and day < campaign.starts_on:
        return skip(Reason.NOT_ACTIVE, f"campaign starts on {campaign.starts_on.isoformat()}")
    if campaign.ends_on and day > campaign.ends_on:
        return skip(Reason.NOT_ACTIVE, f"campaign ended on {campaign.ends_on.isoformat()}")
    miss = audience_miss(campaign.audience, customer, stage, tier, day=day)
    if miss is not None:
        return skip(Reason(miss.code), miss.detail)

    occasion = find_occasion(campaign, customer, day, settings)
    if isinstance(occasion, Miss):
        reason = Reason(occasion.code)
        detail = occasion.detail or {
            Reason.NO_CALENDAR: f"no holiday calendar for country {customer.country or 'unknown'}",
        }.get(reason, f"no {campaign.trigger.type} occasion on {day.isoformat()}")
        return skip(reason, detail)
    if not known_zone(customer.timezone):
        unknown_zone(customer.id)
        return skip(
            Reason.QUIET_HOURS,
            f"the time zone {customer.timezone!r} is not one this machine knows: the "
            "customer's local hours cannot be told, so nothing is sent (import the "
            "customer again with an IANA name)",
        )

    granted = audiences.granted.get(customer.id, frozenset())
    tried: list[tuple[Reason, str]] = []
    options: list[ChannelOption] = []
    for channel in campaign.channels:
        kind = settings.channels[channel].kind or channel
        if (channel, campaign.topic) not in granted:
            tried.append((Reason.NO_CONSENT, f"{channel}: no consent for {campaign.topic}"))
            continue
        address = customer.address(kind)
        if not address:
            tried.append((Reason.NO_ADDRESS, f"{channel}: no address"))
            continue
        if (kind, address) in audiences.suppressed:
            tried.append((Reason.SUPPRESSED, f"{channel}: address suppressed"))
            continue
        window, latest = channel_window(
            campaign, kind, customer.country, customer.timezone, day, settings
        )
        if window.empty:
            why = empty_window_why(
                campaign, kind, customer.country, customer.timezone, day, settings
            )
            tried.append((Reason.QUIET_HOURS, f"{channel}: {why}"))
            continue
        if now >= latest.closes:
            closed = latest.closes.isoformat()
            tried.append((Reason.WINDOW_PASSED, f"{channel}: the send window closed at {closed}"))
            continue
        options.append(ChannelOption(channel, max(window.opens, now), latest.closes))
    if not options:
        return skip(
            _channel_reason([reason for reason, _ in tried]), "; ".join(d for _, d in tried)
        )
    first = options[0]
    return Decision(
        customer.id,
        campaign.id,
        Reason.SELECTED,
        f"{occasion.kind} on {occasion.date.isoformat()} via {first.channel}",
        channel=first.channel,
        topic=campaign.topic,
        locale=customer.locale,
        occasion=occasion,
        send_at=first.send_at,
        expires_at=first.expires_at,
        stage=stage,
        tier=tier,
        segment=segment,
        template_set=campaign.template_set,
        options=tuple(options),
    )


def _channel_reason(reasons: list[Reason]) -> Reason:
    """The reason of the channel that got furthest: a closed window says more than a
    missing address, which says more than missing consent."""
    for reason in (
        Reason.WINDOW_PASSED,
        Reason.QUIET_HOURS,
        Reason.SUPPRESSED,
        Reason.NO_ADDRESS,
    ):
        if reason in reasons:
            return reason
    return Reason.NO_CONSENT


def bucket(campaign_id: str, customer_id: str, purpose: str) -> int:
    """A stable number in [0, 10000) per customer, campaign and purpose.

    Holdout and variant membership come from it, so re-planning, another machine or
    next month all put the customer in the same group.
    """
    digest = hashlib.sha256(f"{campaign_id}\x1f{purpose}\x1f{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10000


def in_holdout(campaign: Campaign, customer_id: str) -> bool:
    share = int(campaign.holdout_percent * 100)
    return share > 0 and bucket(campaign.id, customer_id, "holdout") < share


def variant_for(campaign: Campaign, customer_id: str) -> tuple[str | None, str]:
    """(variant name, template set): weighted, stable choice among the variants."""
    if not campaign.variants:
        return None, campaign.template_set
    total = sum(v.weight for v in campaign.variants)
    point = bucket(campaign.id, customer_id, "variant") * total // 10000
    for variant in campaign.variants:
        if point < variant.weight:
            return variant.name, variant.templates
        point -= variant.weight
    last = campaign.variants[-1]
    return last.name, last.templates


def plan_customer(
    customer: CustomerProfile,
    campaigns: Sequence[Campaign],
    audiences: Audiences,
    day: date,
    now: datetime,
    settings: Settings,
) -> list[Decision]:
    """One decision per campaign for this customer, the campaigns weighed together.

    Campaigns are taken in priority order (lower number first). An occasion already in
    the outbox is reported as such and plans nothing new. A selected campaign goes
    out on the first of its channels that no cap blocks; if every channel is blocked,
    the reason says which cap, and whether a higher-priority campaign chosen in this
    same run took the place. Holdout members are decided like everyone else, then
    recorded instead of messaged, and take no place under the caps.
    """
    ordered = sorted(campaigns, key=lambda c: (c.priority, c.id))
    tally = Tally(audiences.recent.get(customer.id, ()), day, holiday_offer_campaigns(ordered))
    planned = audiences.planned.get(customer.id, frozenset())
    result = []
    for campaign in ordered:
        decision = decide(customer, campaign, audiences, day, now, settings)
        if not decision.selected:
            result.append(decision)
            continue
        occasion = decision.occasion
        assert occasion is not None
        if occasion.planned_in(campaign.id, planned):
            result.append(
                decision.but(
                    reason=Reason.ALREADY_PLANNED,
                    detail=f"already in the outbox: {decision.detail}",
                )
            )
            continue
        chosen, block = None, None
        for option in decision.options:
            block = tally.blocked(campaign, option.channel, settings)
            if block is None:
                chosen = option
                break
        if chosen is None:
            assert block is not None
            if block.by_this_run:
                reason, detail = Reason.LOST_TO_PRIORITY, f"lost to {block.winner}: {block.detail}"
            else:
                reason, detail = Reason.CAP_REACHED, block.detail
            result.append(decision.but(reason=reason, detail=detail))
            continue
        variant, template_set = variant_for(campaign, customer.id)
        decision = decision.but(
            channel=chosen.channel,
            send_at=chosen.send_at,
            expires_at=chosen.expires_at,
            variant=variant,
            template_set=template_set,
            detail=f"{occasion.kind} on {occasion.date.isoformat()} "
            f"via {chosen.channel}" + (f", variant {variant}" if variant else ""),
        )
        if in_holdout(campaign, customer.id):
            result.append(
                decision.but(
                    reason=Reason.HOLDOUT,
                    detail=f"in the {campaign.holdout_percent}% holdout group",
                )
            )
            continue
        tally.add(campaign.id, chosen.channel, occasion.key)
        result.append(decision)
    return result


def plan(
    customers: Iterable[CustomerProfile],
    campaigns: Iterable[Campaign],
    audiences: Audiences,
    day: date,
    now: datetime,
    settings: Settings,
) -> Iterator[Decision]:
    """Every decision for every (customer, campaign), selected or not."""
    ordered = sorted(campaigns, key=lambda c: (c.priority, c.id))
    for customer in customers:
        yield from plan_customer(customer, ordered, audiences, day, now, settings)
