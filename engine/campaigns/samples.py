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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rapport.consent.links import LINKS, page_url
from rapport.engine.campaigns.offers import personal_offer
from rapport.engine.core.config import Settings
from rapport.engine.core.sender import sms_signature
from rapport.engine.rendering.locales import full_name, language, salutation

if TYPE_CHECKING:
    from rapport.engine.campaigns.model import Campaign

__all__ = ["sample_context"]


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

#: Products the sample customer bought (favourite first) and may be recommended.
_SAMPLE_SKUS = ("SERUM-30ML", "CLEANSER-150ML", "MOISTURIZER-50ML", "GIFT-BOX")
#: Signs the sample's coupon codes: realistic codes that no real customer receives.
_SAMPLE_COUPON_KEY = "rapport-sample-context"


def sample_context(
    locale: str, campaign: Campaign, *, settings: Settings | None = None
) -> dict[str, Any]:
    """Realistic data for one customer of ``locale``, to validate and preview templates.

    A loyal, VIB-tier customer (a middle tier, if the operator's tiers have no VIB)
    with a favourite product, a recommendation, a last order and an occasion that
    fits the campaign's trigger, so every key of the context contract is present
    with a value and every branch a marketer is likely to write has something real
    to show; the names are in the customer's own script, the offer is resolved for
    the sample's tier, with a coupon code when the offer has one. Dates are fixed so
    validation is repeatable.
    """
    lang = language(locale)
    persona = _PERSONAS.get(lang, _PERSONAS["en"])
    trigger = campaign.trigger
    kind = trigger.type
    tiers = [level.name for level in settings.tiers.levels] if settings else []
    tier = "vib" if not tiers or "vib" in tiers else tiers[len(tiers) // 2]
    stage = "loyal"
    when = persona.reorder_date
    holiday = sku = order_id = years = reached = None
    last_ordered: date | None = None
    if kind == "birthday":
        when = persona.birthday.replace(year=2026)
        years = when.year - persona.birthday.year
    elif kind == "anniversary":
        when = date(2026, 5, 12)
        years = min(getattr(trigger, "years", None) or [3])
    elif kind == "holiday":
        when = persona.holiday_date
        names = getattr(trigger, "names", None)
        holiday = names[0] if names else persona.holiday
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
    last_day = last_ordered or when - timedelta(days=30)
    favourite = sku or _SAMPLE_SKUS[0]
    others = [s for s in _SAMPLE_SKUS if s != favourite]
    configured = settings or Settings()
    customer_id = f"sample-{lang}"
    segment = "at_risk" if stage == "at_risk" else "loyal"
    return {
        "customer": {
            "id": customer_id,
            "first_name": persona.first_name,
            "last_name": persona.last_name,
            "full_name": full_name(persona.first_name, persona.last_name, locale),
            "salutation": salutation(persona.first_name, persona.last_name, locale),
            "locale": locale,
            "timezone": persona.timezone,
            "country": persona.country,
            "birthday": persona.birthday,
            "stage": stage,
            "tier": tier,
            "segment": segment,
            "order_count": 7,
            "lifetime_value": persona.lifetime_value,
            "currency": persona.currency,
            "days_since_last_order": (when - last_day).days,
        },
        "campaign": {"id": campaign.id, "name": campaign.name, "topic": campaign.topic},
        "occasion": {
            "kind": kind,
            "date": when,
            "name": holiday,
            "tone": getattr(trigger, "tones", [None])[0] if kind == "holiday" else None,
            "sku": sku,
            "last_ordered_at": last_ordered,
            "order_id": order_id,
            "years": years,
            "tier": reached,
            "days_since_last_order": (when - last_day).days,
        },
        "last_order": {
            "id": order_id or "SAMPLE-1042",
            "day": last_day,
            "items": [{"sku": favourite, "quantity": 2}, {"sku": others[0], "quantity": 1}],
            "amount": persona.last_order_amount,
            "currency": persona.currency,
        },
        "favourite_sku": favourite,
        "recommendation": others[1],
        "offer": personal_offer(
            campaign.offer.model_dump(exclude_none=True),
            tier=tier,
            segment=segment,
            campaign_id=campaign.id,
            customer_id=customer_id,
            occasion_key=f"{kind}:sample",
            key=_SAMPLE_COUPON_KEY,
            source=campaign.source or campaign.id,
        ),
        "links": {name: page_url(configured, name, "SAMPLE-TOKEN") for name in LINKS},
        "sender": {
            "postal_address": configured.sender.postal_address,
            "sms_signature": sms_signature(configured.sender, locale),
        },
    }
