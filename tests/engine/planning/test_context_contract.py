"""The template context's contract: plain data only, whatever its inputs hold, and
the same keys in :func:`sample_context` (what ``rapport campaigns validate`` renders
with) as in the real context, each documented.

The context is built from plain data handed to :func:`message_context`, by the
builders in ``factories.py``: customer C-42 (``CUSTOMER``) with five order lines, her
2026 birthday, a decision to e-mail her, campaign "test" with the given offer.
"""

from __future__ import annotations

import re
from dataclasses import fields, replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from factories import CONTEXT_BIRTHDAY as BIRTHDAY
from factories import CONTEXT_CUSTOMER as CUSTOMER
from factories import CONTEXT_ORDERS as ORDERS
from factories import CONTEXT_SETTINGS as SETTINGS
from factories import COUPON_KEY as KEY
from factories import LINK_SIGNER as SIGNER
from factories import build_context as build
from factories import context_campaign as campaign
from factories import context_decision as decision

from rapport.engine.campaigns.samples import sample_context
from rapport.engine.customers.lifecycle import OrderLine
from rapport.engine.customers.profile import CustomerProfile, EventRecord
from rapport.engine.customers.recommend import CoPurchase, build_co_purchase
from rapport.engine.planning import context as context_module
from rapport.engine.planning.context import message_context
from rapport.engine.rendering import plain
from rapport.engine.rendering.errors import ContextError
from rapport.engine.rendering.plain import check_plain
from rapport.engine.triggers import Occasion

# --------------------------------------------------------------------------- contract


def test_the_context_is_plain_data() -> None:
    offer = {"gift": {"default": "Sample", "rouge": "Full size"}, "coupon": True}
    ctx = build(offer=offer, co_purchase=build_co_purchase([("A", "SERUM-30ML"), ("A", "X")]))
    check_plain(ctx)
    assert ctx["recommendation"] == "X"


class Live:
    """Stands for an ORM row or any live object that must never reach a template."""

    def __str__(self) -> str:
        return "live"


def poisoned_inputs() -> list[tuple[str, dict[str, Any]]]:
    """message_context's arguments with one input value at a time replaced by a Live."""
    line_ = ORDERS[-1]
    cases: list[tuple[str, dict[str, Any]]] = []
    for name in [f.name for f in fields(CustomerProfile) if f.name != "history"]:
        cases.append((f"customer.{name}", {"customer": replace(CUSTOMER, **{name: Live()})}))
    for name in [f.name for f in fields(OrderLine)]:
        orders = (*ORDERS[:-1], replace(line_, **{name: Live()}))
        poisoned = replace(CUSTOMER.history, orders=orders)
        cases.append((f"order.{name}", {"customer": replace(CUSTOMER, history=poisoned)}))
    for name in ("order_count", "lifetime_value", "last_order_by_sku"):
        poisoned = replace(CUSTOMER.history, **{name: Live()})
        cases.append((f"history.{name}", {"customer": replace(CUSTOMER, history=poisoned)}))
    for name in ("stage", "tier", "segment", "channel"):
        cases.append((f"decision.{name}", {"made": decision(**{name: Live()})}))
    for name in [f.name for f in fields(Occasion)]:
        occasion = replace(BIRTHDAY, **{name: Live()})
        cases.append((f"occasion.{name}", {"made": decision(occasion)}))
    for name in ("id", "name", "topic"):
        cases.append(
            (f"campaign.{name}", {"campaign": campaign().model_copy(update={name: Live()})})
        )
    cases.append(("offer value", {"campaign": campaign({"gift": {"default": Live()}})}))
    sender = SETTINGS.sender.model_copy(update={"postal_address": Live()})
    cases.append(("postal address", {"settings": SETTINGS.model_copy(update={"sender": sender})}))
    tiers = SETTINGS.tiers.model_copy(update={"base_currency": Live()})
    cases.append(("currency", {"settings": SETTINGS.model_copy(update={"tiers": tiers})}))
    index = CoPurchase({"SERUM-30ML": ((Live(), 3),)})  # type: ignore[dict-item]
    cases.append(("recommendation", {"co_purchase": index}))
    return cases


# How each poisoned input ends. REFUSED: message_context's check names where it sits.
# BREAKS: the value is computed with (formatted, added, compared, serialised) and that
# fails on it, so no context exists to carry it. UNUSED: the context is built without it.
REFUSED, BREAKS, UNUSED = "refused", "breaks", "unused"
OUTCOMES = {
    "customer.id": BREAKS,
    "customer.locale": BREAKS,
    "customer.timezone": BREAKS,
    "customer.first_name": BREAKS,
    "customer.last_name": BREAKS,
    "customer.email": UNUSED,
    "customer.phone": UNUSED,
    "customer.country": REFUSED,
    "customer.birthday": REFUSED,
    "customer.created_at": UNUSED,
    "customer.currency": BREAKS,
    "customer.events": UNUSED,  # the occasion carries the event it follows
    "order.id": UNUSED,
    "order.sku": REFUSED,
    "order.quantity": BREAKS,
    "order.amount": BREAKS,
    "order.currency": BREAKS,
    "order.ordered_at": UNUSED,
    "order.day": BREAKS,
    "order.paid": BREAKS,
    "history.order_count": REFUSED,
    "history.lifetime_value": UNUSED,  # summed from the order lines, in their currency
    "history.last_order_by_sku": BREAKS,
    "decision.stage": REFUSED,
    "decision.tier": REFUSED,
    "decision.segment": REFUSED,
    "decision.channel": BREAKS,
    "occasion.kind": REFUSED,
    "occasion.key": BREAKS,
    "occasion.date": BREAKS,
    "occasion.name": REFUSED,
    "occasion.names": UNUSED,  # read for a holiday only; this occasion is a birthday
    "occasion.sku": REFUSED,
    "occasion.last_ordered_at": BREAKS,
    "occasion.years": REFUSED,
    "occasion.tier": REFUSED,
    "occasion.order_id": REFUSED,
    "occasion.tone": REFUSED,
    "occasion.event": BREAKS,
    "occasion.also_keys": UNUSED,  # read by planning's already-planned check only
    "campaign.id": REFUSED,
    "campaign.name": REFUSED,
    "campaign.topic": REFUSED,
    "offer value": REFUSED,
    "postal address": REFUSED,
    "currency": BREAKS,
    "recommendation": REFUSED,
}


def test_every_poisoned_input_has_an_expected_outcome() -> None:
    assert [where for where, _ in poisoned_inputs()] == list(OUTCOMES)


@pytest.mark.parametrize(
    ("where", "inputs"),
    [pytest.param(where, inputs, id=where) for where, inputs in poisoned_inputs()],
)
def test_a_live_value_in_any_input_never_reaches_a_template(
    where: str, inputs: dict[str, Any]
) -> None:
    """The renderer trusts message_context's check instead of walking each context,
    so every input value must be checked there (or fail to build a context at all)."""
    expected = OUTCOMES[where]
    arguments = {
        "customer": CUSTOMER,
        "made": decision(),
        "campaign": campaign(),
        "settings": SETTINGS,
        "co_purchase": build_co_purchase([("A", "SERUM-30ML"), ("A", "X")]),
        **inputs,
    }
    try:
        ctx = message_context(
            arguments["customer"],
            arguments["made"],
            arguments["campaign"],
            arguments["settings"],
            SIGNER,
            co_purchase=arguments["co_purchase"],
            coupon_key=KEY,
        )
    except ContextError as refused:  # refused where it entered, saying where
        assert expected == REFUSED, f"{where}: {refused}"
        assert re.fullmatch(r"context\.\S+: Live is not plain data", str(refused)), refused
        return
    except (TypeError, AttributeError) as broken:  # no context exists to carry it
        assert expected == BREAKS, f"{where}: {broken!r}"
        assert "Live" in str(broken), broken  # broken by the poisoned value, not a bug
        return
    assert expected == UNUSED, f"{where}: a context was built"
    plain._walk_plain(ctx, "context")  # the full walk finds nothing the check missed


def test_a_live_value_is_refused_naming_where_it_sits() -> None:
    with pytest.raises(ContextError, match=r"context\.customer\.birthday: Live"):
        build(replace(CUSTOMER, birthday=Live()))  # type: ignore[arg-type]


def test_backward_compatible_call() -> None:
    ctx = message_context(CUSTOMER, decision(), campaign(), SETTINGS, SIGNER)
    assert ctx["offer"] == {} and ctx["recommendation"] is None


OCCASIONS = {
    "birthday": ({"type": "birthday"}, BIRTHDAY),
    "anniversary": (
        {"type": "anniversary"},
        Occasion("anniversary", "anniversary:2026", date(2026, 3, 1), years=2),
    ),
    "holiday": (
        {"type": "holiday"},
        Occasion("holiday", "holiday:Nowruz:2026-03-21", date(2026, 3, 21), name="Nowruz"),
    ),
    "reorder": (
        {"type": "reorder", "days_after": 30},
        Occasion("reorder", "r", date(2026, 3, 1), sku="TEA", last_ordered_at=date(2026, 1, 30)),
    ),
    "welcome": (
        {"type": "welcome"},
        Occasion("welcome", "welcome:O-1", date(2026, 3, 1), sku="TEA", order_id="O-1"),
    ),
    "winback": (
        {"type": "winback", "days_without_order": 90},
        Occasion("winback", "winback:2025-12-01", date(2026, 3, 1)),
    ),
    "tier_reached": (
        {"type": "tier_reached"},
        Occasion("tier_reached", "tier:vib:2026-03-01", date(2026, 3, 1), tier="vib"),
    ),
    "feedback": (
        {"type": "feedback", "days_after_order": 7},
        Occasion("feedback", "feedback:O-5", date(2026, 3, 1), sku="TEA", order_id="O-5"),
    ),
    "recurring": (
        {"type": "recurring", "cron": "0 10 1 * *"},
        Occasion("recurring", "recurring:2026-03-01", date(2026, 3, 1)),
    ),
    "event": (
        {"type": "event", "name": "order_shipped", "delay": "2d", "sample_data": {"carrier": "X"}},
        Occasion(
            "event",
            "event:order_shipped:2026-02-27",
            date(2026, 3, 1),
            event=EventRecord(
                "order_shipped", "S-1", datetime(2026, 2, 27, 9, tzinfo=UTC), {"carrier": "DHL"}
            ),
        ),
    ),
}


def shape(value: Any) -> Any:
    """The keys of nested mappings (and of a list's first item), not the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list) and value:
        return [shape(value[0])]
    return None


@pytest.mark.parametrize("kind", sorted(OCCASIONS))
def test_sample_context_has_every_key_of_the_real_context(kind: str) -> None:
    trigger, occasion = OCCASIONS[kind]
    offer = {"discount_percent": 15, "gift": {"insider": "Sample", "default": "Kit"}}
    offer["coupon"] = True
    test = campaign(offer, **trigger)
    real = build(made=decision(occasion=occasion), offer=offer, co_purchase=CoPurchase())
    for locale in ("en", "fa_IR", "zh"):
        sample = sample_context(locale, test, settings=SETTINGS)
        check_plain(sample)
        assert shape(sample) == shape(real)
        assert sample["occasion"]["kind"] == kind
        assert sample["offer"]["code"] and sample["offer"]["gift"] == "Kit"
        assert sample["recommendation"] not in {i["sku"] for i in sample["last_order"]["items"]}


def test_every_key_is_documented_in_the_context_contract() -> None:
    doc = context_module.__doc__ or ""
    section = doc.split("Context contract", 1)[1]
    documented = set(re.findall(r"``([a-z_]+)``", section))

    def names(value: Any) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {n for item in value.values() for n in names(item)}
        if isinstance(value, list) and value:
            return names(value[0])
        return set()

    ctx = build(offer={"discount_percent": 15, "coupon": True}, co_purchase=CoPurchase())
    ctx["offer"] = {"discount_percent": 15, "code": "X"}  # the offer's own keys vary
    assert names(ctx) - documented == set()
