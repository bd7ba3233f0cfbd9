"""The synthetic customers ``rapport campaigns validate`` renders every template for.

Validation and previews need a customer with every key of the template context
contract (see :mod:`rapport.engine.planning.context`) filled in, so that every
branch a marketer is likely to write has something real to show: one persona per
language, named in its own script, with an occasion that fits the campaign's trigger
and the campaign's offer resolved for the sample's tier. The data is fixed, so
validation is repeatable, and the sample's coupon codes are signed with a key of
their own, so they look real but are never a real customer's code.

A language without a persona gets the English one; a new script's persona is one
more entry in :data:`_PERSONAS`.

:class:`Traits` varies the typical sample: another tier, lifecycle stage, RFM segment
or holiday tone, no names, no country, no birthday, no recommendation, or a customer
who never ordered (no last order, favourite, segment nor days since). Validation
renders a small set of them (:mod:`rapport.engine.campaigns.coverage`) so that a
branch reached only by one of those values is rendered too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from babel.core import Locale, UnknownLocaleError, get_global

from rapport.consent.links import LINKS, page_url
from rapport.consent.tokens import SAMPLE_TOKEN
from rapport.engine.campaigns.offers import NO_OFFER_TONES, personal_offer
from rapport.engine.core.config import Settings
from rapport.engine.core.sender import sms_signature
from rapport.engine.core.timeutil import zone
from rapport.engine.rendering.locales import full_name, language, salutation

if TYPE_CHECKING:
    from rapport.engine.campaigns.model import Campaign

__all__ = ["SAMPLE_COUPON_KEY", "Traits", "sample_context"]


@dataclass(frozen=True, slots=True)
class _Persona:
    first_name: str
    last_name: str
    timezone: str
    country: str
    birthday: date
    currency: str
    lifetime_value: Decimal
    last_order_amount: Decimal
    holiday: str
    holiday_date: date
    reorder_date: date


_PERSONAS = {
    "en": _Persona(
        "Alex", "Morgan", "America/New_York", "US", date(1990, 6, 14), "USD",
        Decimal("486.50"), Decimal("118.00"), "Thanksgiving Day", date(2025, 11, 27),
        date(2025, 10, 6),
    ),
    "fa": _Persona(
        "سارا", "احمدی", "Asia/Tehran", "IR", date(1993, 4, 24), "IRR",
        Decimal("48500000"), Decimal("11800000"), "نوروز", date(2026, 3, 21),
        date(2025, 10, 6),
    ),
    "zh": _Persona(
        "伟", "王", "Asia/Shanghai", "CN", date(1988, 9, 9), "CNY",
        Decimal("3280.00"), Decimal("836.00"), "春节", date(2026, 2, 17), date(2025, 10, 6),
    ),
    "ar": _Persona(
        "ليلى", "حسن", "Africa/Cairo", "EG", date(1991, 7, 3), "EGP",
        Decimal("18500.00"), Decimal("4200.00"), "عيد الفطر", date(2026, 3, 20),
        date(2025, 10, 6),
    ),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Traits:
    """How one synthetic customer differs from the typical sample; ``None`` and
    ``True`` keep the typical value. ``ordered=False`` is a customer who never ordered:
    stage ``prospect``, no segment, last order, favourite nor days since (it overrides
    ``stage`` and ``segment``)."""

    tier: str | None = None
    stage: str | None = None
    segment: str | None = None
    tone: str | None = None
    named: bool = True
    country: bool = True
    birthday: bool = True
    recommendation: bool = True
    ordered: bool = True
    regional: bool = False

    def labels(self) -> list[str]:
        """What is not typical, as a template reads it: ``customer.tier = rouge``."""
        typical = Traits()
        shown = {
            "tier": f"customer.tier = {self.tier}",
            "stage": f"customer.stage = {self.stage}",
            "segment": f"customer.segment = {self.segment}",
            "tone": f"occasion.tone = {self.tone}",
            "named": "customer.first_name and last_name empty",
            "country": "customer.country = None",
            "birthday": "customer.birthday = None",
            "recommendation": "recommendation = None",
            "ordered": "no orders (last_order = None)",
            "regional": "customer.locale = the language's with a region (en_US for en)",
        }
        return [
            text for name, text in shown.items() if getattr(self, name) != getattr(typical, name)
        ]

    def single(self) -> list[Traits]:
        """Each way this differs from the typical sample, on its own."""
        typical = Traits()
        return [
            replace(typical, **{trait.name: getattr(self, trait.name)})
            for trait in fields(self)
            if getattr(self, trait.name) != getattr(typical, trait.name)
        ]


TYPICAL = Traits()

#: Order counts that fit each lifecycle stage (config's defaults: loyal from 4 orders).
_ORDERS_BY_STAGE = {"first_time": 1, "repeat": 2, "loyal": 7, "at_risk": 3, "lapsed": 2}

#: Products the sample customer bought (favourite first) and may be recommended.
_SAMPLE_SKUS = ("SERUM-30ML", "CLEANSER-150ML", "MOISTURIZER-50ML", "GIFT-BOX")
#: Signs the sample's coupon codes (and a test message's, see
#: :mod:`rapport.engine.runtime.send_test`): realistic codes that no real customer receives.
SAMPLE_COUPON_KEY = "rapport-sample-context"


def sample_context(
    locale: str,
    campaign: Campaign,
    *,
    settings: Settings | None = None,
    traits: Traits = TYPICAL,
) -> dict[str, Any]:
    """Realistic data for one customer of ``locale``, to validate and preview templates.

    A loyal, VIB-tier customer (a middle tier, if the operator's tiers have no VIB;
    a stage, tier and RFM segment the campaign's audience lists, when it lists them)
    with a favourite product, a recommendation, a last order and an occasion that
    fits the campaign's trigger, so every key of the context contract is present
    with a value and every branch a marketer is likely to write has something real
    to show; the names are in the customer's own script, the offer is resolved for
    the sample's tier, with a coupon code when the offer has one. Dates are fixed so
    validation is repeatable. ``traits`` makes another customer of the same persona
    (see :class:`Traits`).
    """
    lang = language(locale)
    persona = _PERSONAS.get(lang, _PERSONAS["en"])
    trigger = campaign.trigger
    kind = trigger.type
    audience = campaign.audience
    tiers = [level.name for level in settings.tiers.levels] if settings else []
    tiers = _reachable(tiers, audience.tiers)
    tier = "vib" if not tiers or "vib" in tiers else tiers[len(tiers) // 2]
    stage = "loyal"
    when = persona.reorder_date
    holiday = sku = order_id = years = reached = None
    event: dict[str, Any] | None = None
    last_ordered: date | None = None
    if kind == "birthday":
        when = persona.birthday.replace(year=2026)
        years = when.year - persona.birthday.year
    elif kind == "anniversary":
        when = date(2026, 5, 12)
        years = min(getattr(trigger, "years", None) or [3])
    elif kind == "holiday":
        when = persona.holiday_date
        from rapport.engine.triggers.calendars import holiday_name

        names = getattr(trigger, "names", None)
        # A named holiday as the persona's calendar names it in this language, as
        # planning names it; English (as written) where that calendar lacks it.
        holiday = (
            holiday_name(persona.country, when, locale, english=names[0]) or names[0]
            if names
            else persona.holiday
        )
    elif kind == "reorder":
        skus = getattr(trigger, "skus", {}) or {}
        sku = next(iter(skus), _SAMPLE_SKUS[0])
        interval = skus.get(sku) or getattr(trigger, "days_after", None) or 30
        last_ordered = when - timedelta(days=interval)
    elif kind in ("welcome", "feedback"):
        days = getattr(trigger, "days_after", None) or getattr(trigger, "days_after_order", 0)
        if getattr(trigger, "after", "first_order") == "first_order":
            sku, order_id = _SAMPLE_SKUS[0], "SAMPLE-1042"
            last_ordered = when - timedelta(days=days or 0)
    elif kind == "winback":
        stage = "at_risk"
        last_ordered = when - timedelta(days=getattr(trigger, "days_without_order", 90))
    elif kind == "tier_reached":
        targets = getattr(trigger, "tiers", None)
        reached = tier = targets[-1] if targets else tier
    elif kind == "event":
        # The event the occasion follows: the campaign's delay before, at 10:00 local.
        happened = when - timedelta(days=getattr(trigger, "days", 0))
        event = {
            "name": getattr(trigger, "name", "event"),
            "id": "SAMPLE-EVENT-1",
            "occurred_at": datetime.combine(happened, time(10), tzinfo=zone(persona.timezone)),
            "data": dict(getattr(trigger, "sample_data", {})),
        }
    if traits.tier is not None:
        tier = traits.tier
        reached = tier if kind == "tier_reached" else reached
    stage = traits.stage or _reachable([stage], audience.stages)[0]
    typical_segment = _reachable(
        ["at_risk" if stage == "at_risk" else "loyal"], audience.rfm_segments
    )
    segment: str | None = traits.segment or typical_segment[0]
    tone = _tone(trigger, traits) if kind == "holiday" else None
    last_day: date | None = last_ordered or when - timedelta(days=30)
    favourite: str | None = sku or _SAMPLE_SKUS[0]
    others = [s for s in _SAMPLE_SKUS if s != favourite]
    orders = _ORDERS_BY_STAGE.get(traits.stage or "", 7)
    if not traits.ordered:
        stage, segment, last_day, favourite, orders = "prospect", None, None, None, 0
    configured = settings or Settings()
    customer_id = f"sample-{lang}"
    first, last = (persona.first_name, persona.last_name) if traits.named else ("", "")
    return {
        "customer": {
            "id": customer_id,
            "first_name": first,
            "last_name": last,
            "full_name": full_name(first, last, locale),
            "salutation": salutation(first, last, locale),
            "locale": with_region(locale) if traits.regional else locale,
            "timezone": persona.timezone,
            "country": persona.country if traits.country else None,
            "birthday": persona.birthday if traits.birthday else None,
            "stage": stage,
            "tier": tier,
            "segment": segment,
            "order_count": orders,
            "lifetime_value": persona.lifetime_value if orders else Decimal(0),
            "currency": persona.currency,
            "days_since_last_order": _days(last_day, when),
        },
        "campaign": {"id": campaign.id, "name": campaign.name, "topic": campaign.topic},
        "occasion": {
            "kind": kind,
            "date": when,
            "name": holiday,
            "tone": tone,
            "sku": sku,
            "last_ordered_at": last_ordered,
            "order_id": order_id,
            "years": years,
            "tier": reached,
            "days_since_last_order": _days(last_day, when),
            "event": event,
        },
        "last_order": None
        if last_day is None
        else {
            "id": order_id or "SAMPLE-1042",
            "day": last_day,
            "items": [{"sku": favourite, "quantity": 2}, {"sku": others[0], "quantity": 1}],
            "amount": persona.last_order_amount,
            "currency": persona.currency,
        },
        "favourite_sku": favourite,
        "recommendation": others[1] if traits.recommendation else None,
        "offer": {}
        if tone in NO_OFFER_TONES
        else personal_offer(
            campaign.offer.model_dump(exclude_none=True),
            tier=tier,
            segment=segment,
            campaign_id=campaign.id,
            customer_id=customer_id,
            occasion_key=f"{kind}:sample",
            key=SAMPLE_COUPON_KEY,
            source=campaign.source or campaign.id,
        ),
        "links": {name: page_url(configured, name, SAMPLE_TOKEN) for name in LINKS},
        "sender": {
            "postal_address": configured.sender.postal_address,
            "sms_signature": sms_signature(configured.sender, locale),
        },
    }


def with_region(locale: str) -> str:
    """``locale`` as most customers' read, with the territory CLDR deems likely: en ->
    en_US, fa -> fa_IR, zh -> zh_CN, zh_Hant -> zh_Hant_TW. A customer's locale is what
    was imported, mostly with a region, while the folder it reads is the language's;
    a locale that names a territory, or that Babel cannot read, is kept."""
    try:
        parsed = Locale.parse(locale)
    except (UnknownLocaleError, ValueError, TypeError):
        return locale
    if parsed.territory:
        return locale
    likely = get_global("likely_subtags")
    subtags = likely.get(locale) or likely.get(parsed.language)
    territory = Locale.parse(subtags).territory if subtags else None
    return f"{locale}_{territory}" if territory else locale


def _reachable(typical: list[str], listed: Sequence[str] | None) -> list[str]:
    """The typical values the audience admits, else the ones it lists (never empty
    when either is not)."""
    if listed is None:
        return typical
    return [v for v in typical if v in listed] or list(listed)


def _tone(trigger: object, traits: Traits) -> str | None:
    """The traits' tone, else the first a holiday campaign reaches."""
    return traits.tone or (getattr(trigger, "tones", None) or [None])[0]


def _days(since: date | None, until: date) -> int | None:
    return None if since is None else (until - since).days
