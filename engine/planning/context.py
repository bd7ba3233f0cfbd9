"""The template context for one message: plain data only, never ORM objects.

Templates are untrusted, so they get dicts, strings, numbers and dates; nothing that
can reach the database or the file system. :func:`message_context` builds it; the
renderer (:mod:`rapport.engine.rendering.renderer`) checks and renders it.

Context contract
----------------
Callers pass plain data only, never ORM objects (see
:mod:`~rapport.engine.rendering.plain`). Every key below is always present
(``rapport campaigns validate`` renders with all of them, see
:func:`rapport.engine.campaigns.samples.sample_context`); "or None" marks those a
customer may not have, which templates test with ``{% if ... %}``. Amounts are
``Decimal`` in the customer's own currency, ``customer.currency`` (see
:func:`~rapport.engine.customers.lifecycle.customer_currency`: the profile's
``currency``, else most of their orders' spend, else the base currency), rounded to
its CLDR digits; orders in other currencies are converted with ``tiers.rates``
through the base currency. Only tiers count in the base currency. The context is built
by :func:`message_context`.

``customer``
    ``id``, ``first_name``, ``last_name``, ``full_name`` (see
    :func:`~rapport.engine.rendering.locales.full_name`), ``salutation`` (the greeting
    every message in the customer's language opens with: 'Hi Alex', 'سارا احمدی گرامی',
    '王伟，您好'; see :func:`~rapport.engine.rendering.locales.salutation`), ``locale``,
    ``timezone``,
    ``country`` (ISO code or None), ``birthday`` (date or None), ``stage``
    (lifecycle stage: ``prospect``, ``first_time``, ``repeat``, ``loyal``,
    ``at_risk``, ``lapsed``), ``tier`` (loyalty tier, e.g. ``vib``),
    ``segment`` (RFM segment such as ``champions`` or ``at_risk``, or None),
    ``order_count``, ``lifetime_value``, ``currency`` (ISO 4217 code of
    ``lifetime_value`` and of every amount below, e.g. ``IRR``; format with
    ``format_currency(customer.currency)``) and ``days_since_last_order``
    (whole local days up to the sending day, or None for someone who never ordered).
``campaign``
    ``id``, ``name``, ``topic``.
``occasion``
    ``kind`` (the trigger type: ``birthday``, ``anniversary``, ``holiday``,
    ``reorder``, ``welcome``, ``winback``, ``tier_reached``, ``feedback``,
    ``recurring`` or ``event``), ``date`` (the occasion's own date, later than the sending day
    when the campaign sends ahead), ``name`` (the holiday's name in the customer's
    language, else None; polished for it: see :mod:`rapport.engine.triggers.names`;
    two holidays of one day are both named, joined as the language joins a pair:
    ``جشن نوروز و عید سعید فطر``, ``中秋节和国庆节``),
    ``tone`` (a holiday's ``celebration``, ``observance`` or ``mourning``, see
    :mod:`rapport.engine.triggers.tones`; else None), ``sku`` (the product a
    reorder, welcome or feedback message is about, else None), ``last_ordered_at``
    (date of the order it refers
    to, else None), ``order_id`` (welcome and feedback, else None), ``years`` (the
    age a birthday turns, or which anniversary; else None), ``tier`` (the tier just
    reached, else None), ``days_since_last_order`` (from ``last_ordered_at``, or
    else the customer's latest order, to ``date``; None without orders) and
    ``event``: for an ``event`` occasion the event it follows, a mapping of ``name``,
    ``id`` (the posting system's id of it), ``occurred_at`` (a date-time in the
    customer's time zone) and ``data`` (the mapping the system posted with it, empty
    when it posted none; numbers with a fraction are ``Decimal``); None for other
    kinds.
``last_order``
    the customer's latest order, or None: ``id``, ``day`` (local date), ``items``
    (a list of mappings with ``sku`` and ``quantity``), ``amount`` and ``currency``.
``favourite_sku``
    the SKU the customer ordered most units of (ties: the one ordered last), or None.
``recommendation``
    a SKU the customer has not bought, the one most often bought by customers who
    bought the same SKUs (see :mod:`rapport.engine.customers.recommend`), or None.
``offer``
    the campaign's ``offer`` mapping with every per-tier or per-segment value
    resolved for this customer (see :mod:`rapport.engine.campaigns.offers`), e.g.
    ``discount_percent``; ``amount_off``, written in the base currency, is here in
    ``customer.currency``; plus ``code``, the customer's personal coupon code, when
    the offer has ``coupon: true``. It may be empty (and is, on a holiday of
    ``observance`` or ``mourning`` tone, whatever the campaign offers), so templates
    test ``offer.discount_percent is defined`` and ``offer.code is defined``. A code is
    Latin letters and digits: in right-to-left text wrap it in ``<bdi>`` (HTML) or
    between U+2068 and U+2069 (plain text) so it keeps its order.
``links``
    ``preferences``, ``unsubscribe`` and ``feedback`` (the one-question page for this
    occasion): signed URLs for this customer.
``sender``
    ``postal_address``: shown in every e-mail footer; ``sms_signature``: how an SMS in
    the customer's language names the brand ('【Rapport】' first in Chinese; after the
    text in Persian and Arabic; see :mod:`rapport.engine.core.sender`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from decimal import Decimal
from typing import Any

from rapport.consent.links import LINKS, feedback_link, links_for
from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import Campaign
from rapport.engine.campaigns.offers import NO_OFFER_TONES, personal_offer
from rapport.engine.core.config import Settings
from rapport.engine.core.keys import secret_key
from rapport.engine.core.sender import sms_signature
from rapport.engine.core.timeutil import local_date, zone
from rapport.engine.customers.lifecycle import (
    OrderHistory,
    customer_currency,
    from_base_currency,
    round_money,
    spend_in,
)
from rapport.engine.customers.profile import CustomerProfile, EventRecord
from rapport.engine.customers.recommend import CoPurchase, recommend
from rapport.engine.planning.planner import Decision
from rapport.engine.rendering.locales import full_name, salutation
from rapport.engine.rendering.plain import PlainContext, plain_context
from rapport.engine.triggers.calendars import greeted_names


def message_context(
    customer: CustomerProfile,
    decision: Decision,
    campaign: Campaign,
    settings: Settings,
    signer: Signer,
    *,
    co_purchase: CoPurchase | None = None,
    coupon_key: str | None = None,
    today: date | None = None,
    links: Collection[str] = LINKS,
    reading_locale: str | None = None,
) -> PlainContext:
    """Everything a template may use about one planned message, as plain data.

    The keys are listed in this module's docstring ("Context contract").
    Called once per planned message, so it only reads what it is given: the profile
    with its order lines, the decision, and ``co_purchase`` (the run's
    :class:`~rapport.engine.customers.recommend.CoPurchase` index; no recommendation without
    it). ``coupon_key`` derives coupon codes; when omitted it is read with
    :func:`~rapport.engine.core.keys.secret_key`, only for offers with ``coupon: true``.
    ``today`` is the customer's local date that "days since" counts to: by default
    the local date of ``send_at``, else the occasion's date. ``links`` are the signed
    links to include (planning leaves out those its template never reads).
    ``reading_locale`` is the locale the message is written in (its template folder's
    language: :meth:`~rapport.engine.rendering.renderer.Renderer.reading_locale`); the
    salutation and the holiday's name are in it. By default, the customer's locale.

    The result is a :class:`~rapport.engine.rendering.plain.PlainContext`: the values read
    from the inputs are checked here (:class:`~rapport.engine.rendering.errors.ContextError`
    if one is not plain data), so the renderer does not walk the context again.
    """
    occasion = decision.occasion
    assert occasion is not None
    name = occasion.name
    reading = reading_locale or customer.locale
    if occasion.kind == "holiday" and customer.country:
        name = greeted_names(customer.country, occasion.date, reading, occasion.names or (name,))
    history = customer.history
    tiers = settings.tiers
    currency = customer_currency(customer.currency, history.orders, tiers)
    if today is None:
        today = (
            local_date(decision.send_at, customer.timezone) if decision.send_at else occasion.date
        )
    last_day = history.last_order_day(customer.timezone)
    segment = getattr(decision, "segment", None)
    offer = {} if occasion.tone in NO_OFFER_TONES else _plain_offer(campaign)
    if offer.get("coupon") is True and coupon_key is None:
        coupon_key = secret_key(settings)
    about_customer = {
        "id": customer.id,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "full_name": full_name(customer.first_name, customer.last_name, customer.locale),
        "salutation": salutation(customer.first_name, customer.last_name, reading),
        "locale": customer.locale,
        "timezone": customer.timezone,
        "country": customer.country,
        "birthday": customer.birthday,
        "stage": decision.stage,
        "tier": decision.tier,
        "segment": segment,
        "order_count": history.order_count,
        "lifetime_value": _lifetime_value(history, currency, settings),
        "currency": currency,
        "days_since_last_order": _days(last_day, today),
    }
    about_campaign = {"id": campaign.id, "name": campaign.name, "topic": campaign.topic}
    about_occasion = {
        "kind": occasion.kind,
        "date": occasion.date,
        "name": name,
        "tone": occasion.tone,
        "sku": occasion.sku,
        "last_ordered_at": occasion.last_ordered_at,
        "order_id": occasion.order_id,
        "years": occasion.years,
        "tier": occasion.tier,
        "days_since_last_order": _days(
            occasion.last_ordered_at or _last_order_by(history, last_day, occasion.date),
            occasion.date,
        ),
        "event": _event(occasion.event, customer.timezone),
    }
    latest = last_order(history, currency, settings)
    favourite = favourite_sku(history)
    recommendation = (
        recommend(co_purchase, history.last_order_by_sku) if co_purchase is not None else None
    )
    personal = personal_offer(
        offer,
        tier=decision.tier,
        segment=segment,
        campaign_id=campaign.id,
        customer_id=customer.id,
        occasion_key=occasion.key,
        key=coupon_key,
        source=campaign.source or campaign.id,
        currency=currency,
        tiers=tiers,
    )
    postal_address = settings.sender.postal_address
    signed = links_for(customer.id, decision.channel, settings, signer, links)
    if "feedback" in links:
        signed["feedback"] = feedback_link(
            customer.id, occasion.key, decision.channel, settings, signer
        )
    context = {
        "customer": about_customer,
        "campaign": about_campaign,
        "occasion": about_occasion,
        "last_order": latest,
        "favourite_sku": favourite,
        "recommendation": recommendation,
        "offer": personal,
        "links": signed,
        "sender": {
            "postal_address": postal_address,
            "sms_signature": sms_signature(settings.sender, customer.locale),
        },
    }
    # Checked here rather than walked at every render: every value read from the
    # inputs, and the parts built from them. The rest is plain by construction:
    # literal keys, day counts from date arithmetic, links from f-strings.
    return plain_context(
        context,
        (
            *about_customer.values(),
            *about_campaign.values(),
            *about_occasion.values(),
            latest,
            favourite,
            recommendation,
            personal,
            postal_address,
        ),
    )


#: Each campaign's offer as plain data, by the identity of its ``Offer`` (a frozen
#: model, so the dump never goes stale): pydantic would otherwise dump the same offer
#: for every message of a run. An entry keeps its offer alive, so no other object can
#: take that id while the entry exists.
_OFFERS: dict[int, tuple[object, dict[str, Any]]] = {}
_OFFERS_KEPT = 256


def _plain_offer(campaign: Campaign) -> dict[str, Any]:
    """``campaign.offer.model_dump(exclude_none=True)``, dumped once per offer.

    Shared between messages, so read-only: :func:`personal_offer` builds its own dict.
    """
    offer = campaign.offer
    kept = _OFFERS.get(id(offer))
    if kept is None:
        if len(_OFFERS) >= _OFFERS_KEPT:
            _OFFERS.clear()
        kept = _OFFERS[id(offer)] = (offer, offer.model_dump(exclude_none=True))
    return kept[1]


def _event(event: EventRecord | None, timezone: str) -> dict[str, Any] | None:
    """The event an occasion follows, as templates see it (see the contract)."""
    if event is None:
        return None
    return {
        "name": event.name,
        "id": event.key,
        "occurred_at": event.occurred_at.astimezone(zone(timezone)),
        "data": dict(event.data or {}),
    }


def _days(since: date | None, until: date) -> int | None:
    return None if since is None else (until - since).days


def _last_order_by(history: OrderHistory, last_day: date | None, day: date) -> date | None:
    """The local day of the customer's latest order on or before ``day``."""
    if not history.orders:
        return last_day if last_day is not None and last_day <= day else None
    return max((o.day for o in history.orders if o.day <= day), default=None)


def _lifetime_value(history: OrderHistory, currency: str, settings: Settings) -> Decimal:
    """Every order's amount in ``currency``; from the base-currency summary when the
    history has no order lines (a history built from summaries only)."""
    if history.orders:
        return spend_in(history.orders, currency, settings.tiers)
    converted = from_base_currency(history.lifetime_value, currency, settings.tiers)
    return round_money(converted if converted is not None else history.lifetime_value, currency)


def last_order(
    history: OrderHistory, currency: str, settings: Settings | None = None
) -> dict[str, Any] | None:
    """The customer's latest order: the lines placed at the latest moment (one
    checkout), their SKUs with quantities summed, and the total in ``currency`` (the
    customer's, converted with ``settings.tiers.rates``; without ``settings`` the
    base-currency amounts as they are)."""
    if not history.orders:
        return None
    latest = history.orders[-1].ordered_at
    lines = [o for o in history.orders if o.ordered_at == latest]
    quantities: dict[str, int] = {}
    for line in lines:
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
    return {
        "id": lines[0].id,
        "day": lines[-1].day,
        "items": [{"sku": sku, "quantity": n} for sku, n in quantities.items()],
        "amount": (
            spend_in(lines, currency, settings.tiers)
            if settings is not None
            else sum((o.amount for o in lines), Decimal(0))
        ),
        "currency": currency,
    }


def favourite_sku(history: OrderHistory) -> str | None:
    """The SKU the customer ordered most units of; ties go to the one ordered last."""
    units: dict[str, int] = {}
    latest: dict[str, int] = {}
    for position, line in enumerate(history.orders):  # oldest first
        units[line.sku] = units.get(line.sku, 0) + line.quantity
        latest[line.sku] = position
    if not units:
        return None
    return max(units, key=lambda sku: (units[sku], latest[sku]))
