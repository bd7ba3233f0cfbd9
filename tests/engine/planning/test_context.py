"""The personal template context: order history, recommendation, offer, contract.

The context is built from plain data handed to :func:`message_context`; these tests
build that data directly, and check that :func:`sample_context` (what ``rapport
campaigns validate`` renders with) offers every key the real context has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from factories import REPO
from sqlalchemy import Engine, insert

from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import Campaign, Offer, load_campaigns
from rapport.engine.campaigns.offers import coupon_code
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.core.config import Settings
from rapport.engine.core.models import Customer, Order
from rapport.engine.customers.lifecycle import OrderHistory, OrderLine
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.customers.recommend import (
    CoPurchase,
    build_co_purchase,
    load_co_purchase,
    recommend,
)
from rapport.engine.planning import context as context_module
from rapport.engine.planning.context import favourite_sku, last_order, message_context
from rapport.engine.planning.planner import Decision, Reason
from rapport.engine.rendering import plain
from rapport.engine.rendering.errors import ContextError, TemplateMissing
from rapport.engine.rendering.plain import check_plain
from rapport.engine.rendering.renderer import Renderer
from rapport.engine.triggers import Occasion

KEY = "coupon-key-for-tests"
SETTINGS = Settings(base_dir=REPO)
SIGNER = Signer("link-key-for-tests")


def line(
    order_id: str, sku: str, day: date, quantity: int = 1, amount: str = "10", hour: int = 12
) -> OrderLine:
    return OrderLine(
        id=order_id,
        sku=sku,
        quantity=quantity,
        amount=Decimal(amount),
        currency="USD",
        ordered_at=datetime(day.year, day.month, day.day, hour, tzinfo=UTC),
        day=day,
    )


def history(*lines: OrderLine) -> OrderHistory:
    return OrderHistory.from_orders(lines, datetime(2030, 1, 1, tzinfo=UTC))


ORDERS = (
    line("O-1", "SERUM-30ML", date(2025, 11, 2), quantity=2),
    line("O-2", "TEA-SAMPLER", date(2025, 12, 20), quantity=1),
    line("O-3", "SERUM-30ML", date(2026, 1, 9), quantity=1),
    line("O-4", "COFFEE-1KG", date(2026, 2, 19), quantity=2, amount="63.00"),
    line("O-5", "CLEANSER-150ML", date(2026, 2, 19), quantity=1, amount="22.00"),
)
CUSTOMER = CustomerProfile(
    id="C-42",
    locale="fa_IR",
    timezone="Asia/Tehran",
    first_name="سارا",
    last_name="احمدی",
    email="sara@example.com",
    country="IR",
    birthday=date(1993, 3, 1),
    history=history(*ORDERS),
)
BIRTHDAY = Occasion("birthday", "birthday:2026", date(2026, 3, 1), years=33)


def campaign(offer: dict[str, Any] | None = None, **trigger: Any) -> Campaign:
    data = {
        "name": "Test",
        "trigger": trigger or {"type": "birthday"},
        "topic": "birthday",
        "channels": ["email"],
        "offer": offer or {},
    }
    return Campaign.model_validate(data).model_copy(update={"id": "test"})


def decision(occasion: Occasion = BIRTHDAY, **changes: Any) -> Decision:
    base = Decision(
        customer_id=CUSTOMER.id,
        campaign="test",
        reason=Reason.SELECTED,
        channel="email",
        occasion=occasion,
        # 09:00 in Tehran on 1 March 2026.
        send_at=datetime(2026, 3, 1, 5, 30, tzinfo=UTC),
        stage="repeat",
        tier="vib",
    )
    return replace(base, **changes)


def build(
    customer: CustomerProfile = CUSTOMER,
    made: Decision | None = None,
    offer: dict[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    options.setdefault("coupon_key", KEY)
    return message_context(
        customer, made or decision(), campaign(offer), SETTINGS, SIGNER, **options
    )


# --------------------------------------------------------------------------- order history


def test_favourite_sku_is_the_most_units_ties_to_the_latest() -> None:
    # SERUM 3 units; COFFEE 2 units: SERUM wins on units.
    assert favourite_sku(history(*ORDERS)) == "SERUM-30ML"
    # TEA and COFFEE both 2 units: COFFEE was ordered later.
    tied = history(
        line("A", "TEA-SAMPLER", date(2026, 1, 1), quantity=2),
        line("B", "COFFEE-1KG", date(2026, 2, 1), quantity=1),
        line("C", "COFFEE-1KG", date(2026, 2, 2), quantity=1),
    )
    assert favourite_sku(tied) == "COFFEE-1KG"
    assert favourite_sku(OrderHistory()) is None


def test_last_order_is_the_latest_checkout_with_its_items() -> None:
    found = last_order(history(*ORDERS), "USD")
    assert found == {
        "id": "O-4",
        "day": date(2026, 2, 19),
        "items": [
            {"sku": "COFFEE-1KG", "quantity": 2},
            {"sku": "CLEANSER-150ML", "quantity": 1},
        ],
        "amount": Decimal("85.00"),
        "currency": "USD",
    }
    # An earlier line the same day, at another moment, is another order.
    single = history(
        line("A", "TEA", date(2026, 2, 19), hour=9), line("B", "JAM", date(2026, 2, 19))
    )
    assert last_order(single, "USD")["items"] == [{"sku": "JAM", "quantity": 1}]  # type: ignore[index]
    assert last_order(OrderHistory(), "USD") is None


def test_the_context_carries_history_days_and_occasion() -> None:
    ctx = build()
    assert ctx["favourite_sku"] == "SERUM-30ML"
    assert ctx["last_order"]["id"] == "O-4"
    assert ctx["last_order"]["items"][0] == {"sku": "COFFEE-1KG", "quantity": 2}
    # Last order 19 February, sending day 1 March (local): 10 days.
    assert ctx["customer"]["days_since_last_order"] == 10
    assert ctx["occasion"]["days_since_last_order"] == 10
    assert ctx["occasion"]["years"] == 33
    assert ctx["customer"]["segment"] is None
    assert ctx["recommendation"] is None


def test_days_count_to_the_local_sending_day() -> None:
    # 22:00 UTC on 28 February is already 1 March in Tehran.
    late = decision(send_at=datetime(2026, 2, 28, 22, 0, tzinfo=UTC))
    assert build(made=late)["customer"]["days_since_last_order"] == 10
    assert build(today=date(2026, 3, 5))["customer"]["days_since_last_order"] == 14
    # Without send_at (a preview), the occasion's own date.
    ahead = decision(send_at=None, occasion=replace(BIRTHDAY, date=date(2026, 3, 8)))
    ctx = build(made=ahead)
    assert ctx["customer"]["days_since_last_order"] == 17


def test_occasion_days_count_from_the_order_it_refers_to() -> None:
    reorder = Occasion(
        "reorder",
        "reorder:SERUM-30ML:2026-01-09",
        date(2026, 3, 1),
        sku="SERUM-30ML",
        last_ordered_at=date(2026, 1, 9),
    )
    ctx = build(made=decision(occasion=reorder))
    assert ctx["occasion"]["days_since_last_order"] == 51
    assert ctx["occasion"]["sku"] == "SERUM-30ML"
    # A birthday in the past (days_after) counts from the last order before it.
    past = replace(BIRTHDAY, date=date(2026, 2, 1))
    assert build(made=decision(occasion=past))["occasion"]["days_since_last_order"] == 23


def test_a_customer_without_orders() -> None:
    ctx = build(customer=replace(CUSTOMER, history=OrderHistory()), co_purchase=CoPurchase())
    assert ctx["last_order"] is None and ctx["favourite_sku"] is None
    assert ctx["customer"]["days_since_last_order"] is None
    assert ctx["occasion"]["days_since_last_order"] is None
    assert ctx["recommendation"] is None
    check_plain(ctx)


@dataclass(frozen=True)
class SegmentedDecision(Decision):
    segment: str | None = None


def test_segment_comes_from_the_decision_when_it_has_one() -> None:
    made = SegmentedDecision(**{**vars(decision()), "segment": "champions"})
    offer = {"gift": {"champions": "Travel kit", "default": "Sample"}}
    ctx = build(made=made, offer=offer)
    assert ctx["customer"]["segment"] == "champions"
    assert ctx["offer"] == {"gift": "Travel kit"}


# --------------------------------------------------------------------------- offer


def test_offer_is_resolved_for_the_tier_with_a_stable_code() -> None:
    offer = {"gift": {"insider": "Sample", "vib": "Travel kit", "rouge": "Full size"}}
    offer |= {"discount_percent": 15, "coupon": True, "code_prefix": "BDAY"}
    ctx = build(offer=offer)
    assert ctx["offer"]["gift"] == "Travel kit"
    expected = coupon_code(KEY, "test", "C-42", "birthday:2026", prefix="BDAY")
    assert ctx["offer"]["code"] == expected
    assert build(offer=offer)["offer"]["code"] == expected  # re-planning: same code
    rouge = build(made=decision(tier="rouge"), offer=offer)["offer"]
    assert rouge["gift"] == "Full size" and rouge["code"] == expected
    next_year = replace(BIRTHDAY, key="birthday:2027", date=date(2027, 3, 1))
    assert build(made=decision(occasion=next_year), offer=offer)["offer"]["code"] != expected
    assert "code" not in build(offer={"discount_percent": 15})["offer"]


def test_without_a_coupon_key_the_settings_key_is_used() -> None:
    settings = SETTINGS.model_copy(update={"secret_key": "from-settings"})
    ctx = message_context(CUSTOMER, decision(), campaign({"coupon": True}), settings, SIGNER)
    assert ctx["offer"]["code"] == coupon_code("from-settings", "test", "C-42", "birthday:2026")


# --------------------------------------------------------------------------- recommendation


def test_recommendation_from_a_small_index() -> None:
    rows = [
        ("A", "SERUM-30ML"),
        ("A", "MOISTURIZER-50ML"),
        ("B", "SERUM-30ML"),
        ("B", "MOISTURIZER-50ML"),
        ("B", "GIFT-BOX"),
        ("C", "COFFEE-1KG"),
        ("C", "GIFT-BOX"),
        ("D", "COFFEE-1KG"),
        ("D", "TEA-SAMPLER"),
    ]
    index = build_co_purchase(rows)
    assert index.baskets == 4
    assert index.partners_of("SERUM-30ML") == (("MOISTURIZER-50ML", 2), ("GIFT-BOX", 1))
    # Own SKUs SERUM, TEA, COFFEE, CLEANSER: MOISTURIZER 2, GIFT-BOX 1 + 1 -> tie, by name.
    assert build(co_purchase=index)["recommendation"] == "GIFT-BOX"
    assert recommend(index, ["SERUM-30ML"]) == "MOISTURIZER-50ML"
    assert recommend(index, ["SERUM-30ML", "MOISTURIZER-50ML", "GIFT-BOX"]) == "COFFEE-1KG"
    assert recommend(index, ["UNKNOWN"]) is None
    assert recommend(CoPurchase(), ["SERUM-30ML"]) is None


def test_baskets_count_customers_not_orders_and_skip_huge_ones() -> None:
    rows = [("A", "X"), ("A", "Y"), ("A", "Y"), ("A", "X")]
    rows += [("R", f"S{n:03}") for n in range(60)]  # a reseller: left out
    index = build_co_purchase(rows, max_basket=50)
    assert index.partners_of("X") == (("Y", 1),)
    assert index.partners_of("S001") == ()


def test_partners_per_sku_stay_bounded() -> None:
    # "HUB" is bought with 500 different SKUs; "POPULAR" with it by 30 customers.
    rows = [(f"P{n:03}", sku) for n in range(30) for sku in ("HUB", "POPULAR")]
    rows += [(f"Q{n:03}", sku) for n in range(500) for sku in ("HUB", f"RARE-{n:03}")]
    index = build_co_purchase(rows, top=3, slack=4)
    partners = index.partners_of("HUB")
    assert len(partners) == 3
    assert partners[0] == ("POPULAR", 30)


def test_load_co_purchase_streams_every_customers_orders(engine: Engine) -> None:
    moment = datetime(2026, 1, 1, 12, tzinfo=UTC)
    orders = [
        ("A", "SERUM-30ML", 0),
        ("A", "MOISTURIZER-50ML", 1),
        ("B", "SERUM-30ML", 2),
        ("B", "MOISTURIZER-50ML", 3),
        ("C", "SERUM-30ML", 4),
        ("C", "GIFT-BOX", 40),
    ]
    with engine.begin() as connection:
        connection.execute(
            insert(Customer.__table__),  # type: ignore[attr-defined]
            [
                {"id": c, "locale": "en", "timezone": "UTC", "created_at": moment}
                for c in ("A", "B", "C")
            ],
        )
        connection.execute(
            insert(Order.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": f"O-{n}",
                    "customer_id": customer,
                    "sku": sku,
                    "quantity": 1,
                    "amount": Decimal("10"),
                    "currency": "USD",
                    "ordered_at": moment + timedelta(days=days),
                }
                for n, (customer, sku, days) in enumerate(orders)
            ],
        )
    with engine.connect() as connection:
        index = load_co_purchase(connection, chunk=2)
        before = load_co_purchase(connection, as_of=moment + timedelta(days=10))
    assert index.partners_of("SERUM-30ML") == (("MOISTURIZER-50ML", 2), ("GIFT-BOX", 1))
    assert before.partners_of("SERUM-30ML") == (("MOISTURIZER-50ML", 2),)


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
    "order.id": UNUSED,
    "order.sku": REFUSED,
    "order.quantity": BREAKS,
    "order.amount": BREAKS,
    "order.currency": UNUSED,
    "order.ordered_at": UNUSED,
    "order.day": BREAKS,
    "history.order_count": REFUSED,
    "history.lifetime_value": REFUSED,
    "history.last_order_by_sku": BREAKS,
    "decision.stage": REFUSED,
    "decision.tier": REFUSED,
    "decision.segment": REFUSED,
    "decision.channel": BREAKS,
    "occasion.kind": REFUSED,
    "occasion.key": BREAKS,
    "occasion.date": BREAKS,
    "occasion.name": REFUSED,
    "occasion.sku": REFUSED,
    "occasion.last_ordered_at": BREAKS,
    "occasion.years": REFUSED,
    "occasion.tier": REFUSED,
    "occasion.order_id": REFUSED,
    "campaign.id": REFUSED,
    "campaign.name": REFUSED,
    "campaign.topic": REFUSED,
    "offer value": REFUSED,
    "postal address": REFUSED,
    "currency": REFUSED,
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


# --------------------------------------------------------------------------- templates


def test_shipped_templates_show_the_code_and_recommendation() -> None:
    loaded, problems = load_campaigns(SETTINGS)
    assert problems == []
    campaigns = {c.id: c for c in loaded}
    coupon = Offer(discount_percent=Decimal(15), coupon=True, code_prefix="BDAY")
    birthday = campaigns["birthday"].model_copy(update={"offer": coupon})
    renderer = Renderer.from_settings(SETTINGS)
    for locale in ("en", "fa", "zh"):
        ctx = sample_context(locale, birthday, settings=SETTINGS)
        code = ctx["offer"]["code"]
        mail = renderer.render("birthday", "email", locale, ctx)
        sms = renderer.render("birthday", "sms", locale, ctx)
        assert code in mail.text and code in (mail.html or "") and code in sms.text
    fa = sample_context("fa", birthday, settings=SETTINGS)
    mail = renderer.render("birthday", "email", "fa", fa)
    code = fa["offer"]["code"]
    assert f"\u2068{code}\u2069" in mail.text  # isolated inside the Persian line
    assert re.search(rf'<bdi dir="ltr"[^>]*>{code}</bdi>', mail.html or "")

    reorder = sample_context("fa", campaigns["reorder"], settings=SETTINGS)
    mail = renderer.render("reorder", "email", "fa", reorder)
    assert f"\u2068{reorder['recommendation']}\u2069" in mail.text
    assert f"<bdi>{reorder['recommendation']}</bdi>" in (mail.html or "")
    en = sample_context("en", campaigns["reorder"], settings=SETTINGS)
    assert en["recommendation"] in renderer.render("reorder", "email", "en", en).text
    no_recommendation = {**en, "recommendation": None}
    text = renderer.render("reorder", "email", "en", no_recommendation).text
    assert "tastes like yours" not in text


def test_the_recommend_module_examples_hold() -> None:
    import doctest

    from rapport.engine.customers import recommend as module

    assert doctest.testmod(module).failed == 0


# ------------------------------------------------------- what templates read (pruning)


#: Occasions the shipped templates of these sets expect (the birthday one elsewhere).
TEMPLATE_OCCASIONS = {
    "reorder": Occasion(
        "reorder",
        "reorder:SERUM-30ML:2026-01-09",
        date(2026, 3, 1),
        sku="SERUM-30ML",
        last_ordered_at=date(2026, 1, 9),
    ),
}


def _renderer_with(tmp_path: Path, files: dict[str, str]) -> Renderer:
    for name, text in files.items():
        path = tmp_path / "t" / "en" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Renderer(tmp_path, "en")


def test_a_template_reads_only_the_links_it_names(tmp_path: Path) -> None:
    renderer = _renderer_with(
        tmp_path,
        {
            "email_subject.txt": "Hi",
            "email.txt": "{{ links.unsubscribe }} {{ links['preferences'] }}",
        },
    )
    assert renderer.reads("t", "email", "en", "links.unsubscribe")
    assert renderer.reads("t", "email", "en", "links.preferences")
    assert not renderer.reads("t", "email", "en", "links.feedback")
    assert not renderer.reads("t", "email", "en", "recommendation")


@pytest.mark.parametrize(
    "body",
    [
        "{{ links }}",
        "{% for name in links %}{{ name }}{% endfor %}",
        "{{ links[customer.first_name] }}",
        "{% include 'other.txt' %}",
    ],
)
def test_any_other_use_of_links_counts_as_reading_every_link(tmp_path: Path, body: str) -> None:
    renderer = _renderer_with(
        tmp_path, {"email_subject.txt": "Hi", "email.txt": body, "other.txt": ""}
    )
    assert renderer.reads("t", "email", "en", "links.feedback")


def test_a_template_set_without_the_channel_counts_as_reading(tmp_path: Path) -> None:
    renderer = _renderer_with(tmp_path, {"email_subject.txt": "Hi", "email.txt": "x"})
    assert renderer.reads("t", "sms", "en", "links.feedback")


def test_contexts_pruned_to_what_templates_read_render_the_same_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every shipped template set, channel and locale: leaving out the links and the
    recommendation a template never reads changes nothing in what it renders."""
    monkeypatch.setattr(SIGNER._clock, "get_timestamp", lambda: 1_790_000_000)
    renderer = Renderer(REPO / "templates", "en")
    co_purchase = build_co_purchase(
        [("a", "SERUM-30ML"), ("a", "TEA-SAMPLER"), ("b", "SERUM-30ML"), ("b", "TEA-SAMPLER")]
    )
    checked = 0
    for folder in sorted((REPO / "templates").iterdir()):
        for kind in ("email", "sms"):
            for locale in ("en_US", "fa_IR", "zh_CN"):
                try:
                    renderer.locale_for(folder.name, kind, locale)
                except TemplateMissing:
                    continue
                occasion = TEMPLATE_OCCASIONS.get(folder.name, BIRTHDAY)
                made = decision(channel=kind, occasion=occasion)
                full = build(made=made, co_purchase=co_purchase)
                links = [
                    name
                    for name in ("preferences", "unsubscribe", "feedback")
                    if renderer.reads(folder.name, kind, locale, f"links.{name}")
                ]
                recommends = renderer.reads(folder.name, kind, locale, "recommendation")
                pruned = build(
                    made=made, co_purchase=co_purchase if recommends else None, links=links
                )
                assert renderer.render(folder.name, kind, locale, pruned) == renderer.render(
                    folder.name, kind, locale, full
                ), (folder.name, kind, locale)
                checked += 1
    assert checked >= 40
