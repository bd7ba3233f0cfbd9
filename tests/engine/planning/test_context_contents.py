"""What the personal template context holds: order history, offer, recommendation.

The context is built from plain data handed to :func:`message_context`, by the
builders in ``factories.py``: customer C-42 (``CUSTOMER``) with five order lines, her
2026 birthday, a decision to e-mail her, campaign "test" with the given offer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from factories import CONTEXT_BIRTHDAY as BIRTHDAY
from factories import CONTEXT_CUSTOMER as CUSTOMER
from factories import CONTEXT_ORDERS as ORDERS
from factories import CONTEXT_SETTINGS as SETTINGS
from factories import COUPON_KEY as KEY
from factories import LINK_SIGNER as SIGNER
from factories import build_context as build
from factories import context_campaign as campaign
from factories import context_decision as decision
from factories import order_history as history
from factories import order_line as line
from sqlalchemy import Engine, insert

from rapport.engine.campaigns.offers import coupon_code
from rapport.engine.core.models import CUSTOMER as CUSTOMER_TABLE
from rapport.engine.core.models import ORDERS as ORDERS_TABLE
from rapport.engine.customers.lifecycle import OrderHistory
from rapport.engine.customers.recommend import (
    CoPurchase,
    build_co_purchase,
    load_co_purchase,
    recommend,
)
from rapport.engine.planning.context import favourite_sku, last_order, message_context
from rapport.engine.planning.planner import Decision
from rapport.engine.rendering.plain import check_plain
from rapport.engine.triggers import Occasion

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
            insert(CUSTOMER_TABLE),
            [
                {"id": c, "locale": "en", "timezone": "UTC", "created_at": moment}
                for c in ("A", "B", "C")
            ],
        )
        connection.execute(
            insert(ORDERS_TABLE),
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


def test_the_recommend_module_examples_hold() -> None:
    import doctest

    from rapport.engine.customers import recommend as module

    assert doctest.testmod(module).failed == 0
