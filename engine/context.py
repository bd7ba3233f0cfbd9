"""The template context for one message: plain data only, never ORM objects.

Templates are untrusted, so they get dicts, strings, numbers and dates; nothing that
can reach the database or the file system. The contract is documented in
:mod:`rapport.engine.rendering`.
"""

from __future__ import annotations

from typing import Any

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.calendars import holiday_name
from rapport.engine.campaigns import Campaign
from rapport.engine.config import Settings
from rapport.engine.planner import CustomerProfile, Decision
from rapport.engine.rendering import full_name


def links_for(
    customer_id: str, channel: str | None, settings: Settings, signer: Signer
) -> dict[str, str]:
    """Signed preference and one-click unsubscribe links for a customer."""
    base = settings.web.base_url.rstrip("/")
    claims = TokenClaims(customer_id=customer_id, channel=channel)
    return {
        "preferences": f"{base}/preferences/{signer.sign(Purpose.PREFERENCES, claims)}",
        "unsubscribe": f"{base}/unsubscribe/{signer.sign(Purpose.UNSUBSCRIBE, claims)}",
    }


def unsubscribe_headers(
    customer_id: str, channel: str, settings: Settings, signer: Signer
) -> dict[str, str]:
    """RFC 2369 / RFC 8058 headers: an HTTPS one-click URL and a mailto alternative."""
    link = links_for(customer_id, channel, settings, signer)["unsubscribe"]
    token = link.rsplit("/", 1)[-1]
    mailto = f"mailto:{settings.sender.unsubscribe_mailto}?subject=unsubscribe%20{token}"
    return {
        "List-Unsubscribe": f"<{link}>, <{mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def message_context(
    customer: CustomerProfile,
    decision: Decision,
    campaign: Campaign,
    settings: Settings,
    signer: Signer,
) -> dict[str, Any]:
    occasion = decision.occasion
    assert occasion is not None
    name = occasion.name
    if occasion.kind == "holiday" and customer.country:
        name = holiday_name(customer.country, occasion.date, customer.locale) or name
    history = customer.history
    return {
        "customer": {
            "id": customer.id,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "full_name": full_name(customer.first_name, customer.last_name, customer.locale),
            "locale": customer.locale,
            "timezone": customer.timezone,
            "country": customer.country,
            "birthday": customer.birthday,
            "stage": decision.stage,
            "tier": decision.tier,
            "order_count": history.order_count,
            "lifetime_value": history.lifetime_value,
            "currency": settings.tiers.base_currency,
        },
        "campaign": {"id": campaign.id, "name": campaign.name, "topic": campaign.topic},
        "occasion": {
            "kind": occasion.kind,
            "date": occasion.date,
            "name": name,
            "sku": occasion.sku,
            "last_ordered_at": occasion.last_ordered_at,
        },
        "offer": campaign.offer.as_context(),
        "links": links_for(customer.id, decision.channel, settings, signer),
        "sender": {"postal_address": settings.sender.postal_address},
    }
