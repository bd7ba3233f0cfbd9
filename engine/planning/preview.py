"""``rapport preview``: the message a customer would get, even on a day they would not.

A marketer previewing a birthday greeting wants to see it whatever today's date is,
so when the campaign has no occasion for the customer on that day a representative
one is used, and a note says why the customer would not actually be messaged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine

from rapport.channels.mime import message_id_for, strip_bidi_controls
from rapport.consent.links import unsubscribe_headers
from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import (
    Campaign,
    find_campaign,
    load_campaigns,
    require_campaigns,
)
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import NotFound, UserError
from rapport.engine.core.sender import from_header
from rapport.engine.customers.profile import CustomerProfile, EventRecord
from rapport.engine.customers.profiles import load_profile
from rapport.engine.customers.recommend import CoPurchase, load_co_purchase
from rapport.engine.planning.audiences import audiences_for
from rapport.engine.planning.clock import planning_now
from rapport.engine.planning.context import message_context
from rapport.engine.planning.history import lookback_days
from rapport.engine.planning.planner import (
    Decision,
    Reason,
    decide,
    history_cutoff,
    plan_customer,
    variant_for,
)
from rapport.engine.rendering.locales import full_name
from rapport.engine.rendering.plain import PlainContext
from rapport.engine.rendering.renderer import RenderedMessage, Renderer, channel_kind
from rapport.engine.triggers import Miss, Occasion, event_query, find_occasion
from rapport.engine.triggers.calendars import celebrated_on
from rapport.engine.triggers.models import EventTrigger, HolidayTrigger, ReorderTrigger
from rapport.engine.triggers.tones import is_substitute, tone_of


@dataclass(frozen=True)
class Preview:
    channel: str
    rendered: RenderedMessage
    headers: dict[str, str]
    selected: bool
    note: str | None


def _stand_in_occasion(
    trigger: object, country: str | None, skus: list[str], day: date
) -> Occasion:
    if isinstance(trigger, HolidayTrigger):
        # The next holiday of a tone the campaign wants: a preview never shows a
        # greeting on a day of mourning, nor on a substituted rest day.
        for offset in range(366):
            when = day + timedelta(days=offset)
            for name in celebrated_on(country, when, trigger.categories):
                tone = tone_of(country, name)
                if not is_substitute(name) and tone in trigger.tones:
                    return Occasion("holiday", "preview", when, name=name, tone=tone)
        return Occasion("holiday", "preview", day, name="Holiday", tone=trigger.tones[0])
    if isinstance(trigger, ReorderTrigger):
        sku = skus[0] if skus else next(iter(trigger.skus), "SKU")
        return Occasion(
            "reorder", "preview", day, sku=sku, last_ordered_at=day - timedelta(days=30)
        )
    if isinstance(trigger, EventTrigger):
        # The campaign's own sample data, as validation renders it.
        happened = datetime.combine(day - timedelta(days=trigger.days), time(10), tzinfo=UTC)
        record = EventRecord(trigger.name, "preview", happened, dict(trigger.sample_data))
        return Occasion("event", "preview", day, event=record)
    # Any other trigger: an occasion of its own kind on the day (its templates read
    # optional fields such as occasion.years with a fallback).
    return Occasion(str(getattr(trigger, "type", "birthday")), "preview", day)


@dataclass(frozen=True)
class CustomerPreview:
    """What a preview of one customer knows before it picks a channel and a locale:
    their profile, the planner's decision (shown as selected even when it was not,
    with a stand-in occasion when there is none that day) and why they would not
    actually be messaged (``note``)."""

    campaign: Campaign
    profile: CustomerProfile
    decision: Decision
    selected: bool
    note: str | None
    co_purchase: CoPurchase
    #: The channel the planner picked, even for a customer it did not select.
    planned_channel: str | None


def prepare_preview(
    engine: Engine, settings: Settings, campaign: Campaign, customer_id: str, day: date
) -> CustomerPreview:
    """Load the customer and decide as the planner would; :class:`NotFound` for an
    unknown (or erased) customer."""
    # The moment explain asks from: at the day's UTC midnight, a window that closes
    # before it (00:00 to 00:30 in Tehran is 20:30 to 21:00 UTC the day before) read
    # as closed, though plan and explain select the customer.
    now = planning_now(day, hypothetical=True)
    # Weighed with the other campaigns as plan and explain weigh it: caps, priority,
    # holdout and the outbox decide too, and the note says so.
    campaigns = [c for c in load_campaigns(settings)[0] if c.id != campaign.id] + [campaign]
    with engine.connect() as connection:
        events = event_query([c.trigger for c in campaigns], day)
        profile = load_profile(connection, settings, customer_id, history_cutoff(day, now), events)
        if profile is None:
            raise NotFound(f"no customer with id {customer_id!r}")
        audiences = audiences_for(connection, [profile], day, history_days=lookback_days(campaigns))
        co_purchase = load_co_purchase(connection, as_of=history_cutoff(day, now))
    decision = decide(profile, campaign, audiences, day, now, settings)
    weighed = plan_customer(profile, campaigns, audiences, day, now, settings)
    planned = next(d for d in weighed if d.campaign == campaign.id)
    note = None if planned.selected else f"not selected on {day}: {planned.detail}"
    occasion = find_occasion(campaign, profile, day, settings)
    if isinstance(occasion, Miss):
        skus = sorted(profile.history.last_order_by_sku)
        occasion = _stand_in_occasion(campaign.trigger, profile.country, skus, day)
        stand_in = f"shown with a stand-in {occasion.kind} occasion"
        stand_in += f" ({occasion.name} on {occasion.date})" if occasion.name else ""
        note = f"{note}; {stand_in}" if note else stand_in
    shown = replace(
        decision
        if decision.selected
        else Decision(
            profile.id, campaign.id, Reason.SELECTED, stage=decision.stage, tier=decision.tier
        ),
        occasion=occasion,
        topic=campaign.topic,
        locale=profile.locale,
    )
    return CustomerPreview(
        campaign, profile, shown, planned.selected, note, co_purchase, decision.channel
    )


def preview_context(
    prepared: CustomerPreview,
    settings: Settings,
    signer: Signer,
    channel: str,
    locale: str | None = None,
    *,
    coupon_key: str | None = None,
    reading_locale: str | None = None,
) -> tuple[CustomerProfile, Decision, PlainContext]:
    """The template context the planner would build for this customer on ``channel``;
    with ``locale``, as if the customer's locale were that one (the marketer's preview
    of every language with one real customer's data); with ``coupon_key``, coupon
    codes derived from that key instead of the installation's; with ``reading_locale``,
    the salutation and holiday name in that locale (the template folder's language)."""
    profile = prepared.profile if locale is None else replace(prepared.profile, locale=locale)
    shown = replace(prepared.decision, channel=channel, locale=profile.locale)
    context = message_context(
        profile,
        shown,
        prepared.campaign,
        settings,
        signer,
        co_purchase=prepared.co_purchase,
        coupon_key=coupon_key,
        reading_locale=reading_locale,
    )
    return profile, shown, context


def render_preview(
    engine: Engine,
    settings: Settings,
    campaign_id: str,
    customer_id: str,
    channel: str | None,
    day: date,
    *,
    signer: Signer,
    renderer: Renderer,
) -> Preview:
    campaign = find_campaign(require_campaigns(settings), campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id!r} in {settings.campaigns_path}")
    if channel is not None and channel not in campaign.channels:
        raise UserError(
            f"--channel: campaign {campaign_id} does not use {channel!r}; it uses "
            + ", ".join(campaign.channels)
        )
    prepared = prepare_preview(engine, settings, campaign, customer_id, day)
    chosen = channel or prepared.planned_channel or campaign.channels[0]
    kind = channel_kind(settings.channels[chosen].kind or chosen)
    _, template_set = variant_for(campaign, prepared.profile.id)  # the customer's A/B variant
    reading = renderer.reading_locale(template_set, kind, prepared.profile.locale)
    profile, shown, context = preview_context(
        prepared, settings, signer, chosen, reading_locale=reading
    )
    rendered = renderer.render(template_set, kind, profile.locale, context)
    headers: dict[str, str] = {}
    if kind == "email":
        name = full_name(profile.first_name, profile.last_name, profile.locale)
        headers = {
            "From": from_header(settings.sender, profile.locale),
            "To": f"{name} <{profile.email}>" if profile.email else "",
            "Subject": rendered.subject or "",
            "Message-ID": message_id_for(shown.idempotency_key, settings.sender.message_id_domain),
            **unsubscribe_headers(profile.id, chosen, settings, signer),
        }
        # As the MIME writer sends them: no bidi control reaches a header.
        headers = {name: strip_bidi_controls(value) for name, value in headers.items()}
    else:
        headers = {"To": profile.phone or ""}
    return Preview(chosen, rendered, headers, prepared.selected, prepared.note)
